from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from apps.accounts.roles import FINANCE, STORE_MANAGER
from apps.core.currency import currency_convert, exchange_rate_set
from apps.core.errors import DomainError
from apps.core.models import ExchangeRate
from tests.core.test_incidents_factories import api_client, role_user

pytestmark = pytest.mark.django_db


def test_conversion_uses_the_latest_rate_on_or_before_the_document_date():
    exchange_rate_set(currency="EUR", on=date(2026, 3, 1), rate=Decimal("1.10"))
    exchange_rate_set(currency="EUR", on=date(2026, 3, 10), rate=Decimal("1.20"))

    assert currency_convert(amount=Decimal("100.00"), currency="EUR", on=date(2026, 3, 9)) == Decimal("110.00")
    assert currency_convert(amount=Decimal("100.00"), currency="eur", on=date(2026, 3, 10)) == Decimal("120.00")
    assert currency_convert(amount=Decimal("0.05"), currency="EUR", on=date(2026, 4, 1)) == Decimal("0.06")


def test_the_company_currency_converts_to_itself_without_a_rate():
    assert currency_convert(amount=Decimal("12.34"), currency="USD", on=date(2020, 1, 1)) == Decimal("12.34")


def test_a_date_before_the_first_rate_is_refused_rather_than_guessed():
    exchange_rate_set(currency="GBP", on=date(2026, 3, 1), rate=Decimal("1.27"))

    with pytest.raises(DomainError) as err:
        currency_convert(amount=Decimal("1"), currency="GBP", on=date(2026, 2, 28))
    assert err.value.code == "no_exchange_rate"


def test_setting_a_rate_twice_for_a_day_corrects_it():
    exchange_rate_set(currency="EUR", on=date(2026, 3, 1), rate=Decimal("1.10"))
    exchange_rate_set(currency="EUR", on=date(2026, 3, 1), rate=Decimal("1.11"))

    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("EUR", Decimal("1.11000000"))]


@pytest.mark.parametrize("currency, rate", [("USD", Decimal("1")), ("EUR", Decimal("0")), ("EUR", Decimal("-1"))])
def test_invalid_rates_are_refused_and_nothing_is_written(currency, rate):
    with pytest.raises(DomainError):
        exchange_rate_set(currency=currency, on=date(2026, 3, 1), rate=rate)
    assert not ExchangeRate.objects.exists()


@override_settings(COMPANY_CURRENCY="EUR")
def test_the_company_currency_comes_from_settings():
    assert currency_convert(amount=Decimal("5.00"), currency="EUR", on=date(2026, 1, 1)) == Decimal("5.00")
    with pytest.raises(DomainError):
        currency_convert(amount=Decimal("5.00"), currency="USD", on=date(2026, 1, 1))


def test_finance_records_a_rate_over_the_api_and_reads_it_back():
    finance = role_user("fin", FINANCE)
    client = api_client(finance)

    created = client.post(
        "/api/v1/exchange-rates/", {"currency": "eur", "rate_date": "2026-03-01", "rate": "1.085"}, format="json"
    )
    listed = client.get("/api/v1/exchange-rates/?currency=EUR")

    assert created.status_code == 201, created.content
    assert created.json() == {"currency": "EUR", "rate_date": "2026-03-01", "rate": "1.08500000"}
    assert listed.json()["results"] == [created.json()]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"currency": "EURO", "rate_date": "2026-03-01", "rate": "1.1"}, "currency"),
        ({"currency": "EUR", "rate_date": "yesterday", "rate": "1.1"}, "rate_date"),
        ({"currency": "EUR", "rate_date": "2026-03-01", "rate": "abc"}, "rate"),
    ],
    ids=["bad code", "bad date", "bad rate"],
)
def test_bad_rate_input_is_a_400_naming_the_field_and_writes_nothing(body, field):
    response = api_client(role_user("fin", FINANCE)).post("/api/v1/exchange-rates/", body, format="json")

    assert response.status_code == 400
    assert field in str(response.json())
    assert not ExchangeRate.objects.exists()


def test_a_store_manager_may_not_set_rates():
    response = api_client(role_user("sm", STORE_MANAGER)).post(
        "/api/v1/exchange-rates/", {"currency": "EUR", "rate_date": "2026-03-01", "rate": "1.1"}, format="json"
    )

    assert response.status_code == 403
    assert not ExchangeRate.objects.exists()
