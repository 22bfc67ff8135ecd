"""The company currency and conversion at a document's date (`core.ExchangeRate`)."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction

from apps.core.errors import DomainError
from apps.core.models import ExchangeRate

CENT = Decimal("0.01")


def company_currency() -> str:
    return settings.COMPANY_CURRENCY


def exchange_rate_get(*, currency: str, on: date) -> Decimal:
    """The rate of `currency` on `on`: the latest one recorded on or before that date.

    Raises DomainError(code="no_exchange_rate") when none exists, rather than guessing: a
    threshold applied at a wrong rate is worse than a refused document.
    """
    currency = currency.upper()
    if currency == settings.COMPANY_CURRENCY:
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency=currency, rate_date__lte=on)
        .order_by("-rate_date")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise DomainError(
            f"No exchange rate for {currency} on or before {on.isoformat()}",
            code="no_exchange_rate",
        )
    return rate


def currency_convert(*, amount: Decimal, currency: str, on: date) -> Decimal:
    """`amount` in `currency` expressed in the company currency at the rate of `on`, to the cent."""
    return (amount * exchange_rate_get(currency=currency, on=on)).quantize(CENT, rounding=ROUND_HALF_UP)


def exchange_rate_set(*, currency: str, on: date, rate: Decimal) -> ExchangeRate:
    """Record (or correct) the rate of one currency for one date."""
    currency = currency.upper()
    if currency == settings.COMPANY_CURRENCY:
        raise DomainError("The company currency has no exchange rate", code="company_currency_rate")
    if rate <= 0:
        raise DomainError("An exchange rate must be positive", code="invalid_rate")
    with transaction.atomic():
        obj, _ = ExchangeRate.objects.update_or_create(currency=currency, rate_date=on, defaults={"rate": rate})
    return obj
