"""The order intake body, read without DRF's nested serializers when it is well-formed.

`OrderCreateInput` (serializers.py) is the contract: it documents the body in the OpenAPI schema
and produces every 400 with its field paths. Building its nested fields (deep copies of ~25 field
objects) and running them cost about a fifth of an intake request's CPU, so `order_input_from`
first tries `_fast_parse`, a direct reading of the common, plainly valid shape. Whenever it meets
anything else — a missing, null, blank or padded value, an unexpected type, a number it does not
recognise, an error of any kind — it steps aside and the serializer validates the body as before.
The fast path therefore only has to agree with the serializer on what it accepts (the same values
out); tests/orders/test_intake_parse.py checks that on valid and invalid bodies alike.
"""

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from apps.catalog.models import Channel, LocationKind
from apps.catalog.selectors import location_get_by_code
from apps.orders.api.serializers import OrderCreateInput
from apps.orders.services import LineInput, OrderInput
from apps.orders.states import FulfillmentMethod

CHANNELS = frozenset(Channel.values)
CURRENCY = re.compile(r"[A-Z]{3}")
COUNTRY = re.compile(r"[A-Z]{2}")
# Plain decimals only (no sign, exponent or spaces), within max_digits/decimal_places of the serializer.
UNIT_PRICE = re.compile(r"\d{1,10}(?:\.\d{1,2})?")
AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,2})?")
CENT = Decimal("0.01")
ADDRESS_FIELDS = (  # (name, max_length, required), in AddressInput's declaration order
    ("name", 200, False),
    ("line1", 200, True),
    ("line2", 200, False),
    ("city", 100, True),
    ("region", 100, False),
    ("postal_code", 20, True),
    ("country", 2, True),
)


class _Unusual(Exception):
    """Not the plain shape: let the serializer decide (and word any error)."""


def order_input_from(data: Any) -> OrderInput:
    """The OrderInput of a request body, or a DRF ValidationError (400) exactly as the serializer words it."""
    try:
        return _fast_parse(data)
    except _Unusual:
        serializer = OrderCreateInput(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.to_order_input()


def _text(obj: dict, key: str, max_length: int, *, required: bool = True, blank: bool = False) -> str:
    """A CharField value the serializer would keep unchanged: a str, not padded, no NUL or surrogates."""
    value = obj.get(key)
    if value is None:
        if required or key in obj:
            raise _Unusual
        return ""
    if type(value) is not str or len(value) > max_length or value != value.strip() or "\x00" in value:
        raise _Unusual
    if not value and not blank:
        raise _Unusual
    try:
        value.encode()
    except UnicodeEncodeError:  # lone surrogates from JSON escapes: the serializer refuses them
        raise _Unusual from None
    return value


def _decimal(value: Any, pattern: re.Pattern[str]) -> Decimal:
    if type(value) is int and value >= 0:
        value = str(value)
    if type(value) is not str or not pattern.fullmatch(value):
        raise _Unusual
    return Decimal(value).quantize(CENT)


def _fast_parse(data: Any) -> OrderInput:
    if type(data) is not dict:
        raise _Unusual
    channel = data.get("channel")
    if type(channel) is not str or channel not in CHANNELS:
        raise _Unusual
    external_id = _text(data, "external_id", 100)
    currency = _text(data, "currency", 3)
    if not CURRENCY.fullmatch(currency):
        raise _Unusual

    customer = data.get("customer")
    if type(customer) is not dict:
        raise _Unusual
    email = _text(customer, "email", 254)
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _Unusual from None
    name = _text(customer, "name", 200, required=False, blank=True)

    fulfillment = data.get("fulfillment")
    if type(fulfillment) is not dict:
        raise _Unusual
    method = fulfillment.get("method")
    address: dict[str, str] = {}
    pickup = None
    if method == FulfillmentMethod.SHIP and "location" not in fulfillment:
        raw = fulfillment.get("address")
        if type(raw) is not dict:
            raise _Unusual
        for key, max_length, required in ADDRESS_FIELDS:
            if key in raw or required:
                address[key] = _text(raw, key, max_length, required=required, blank=not required)
        if not COUNTRY.fullmatch(address["country"]):
            raise _Unusual
    elif method == FulfillmentMethod.PICKUP and "address" not in fulfillment:
        pickup = location_get_by_code(_text(fulfillment, "location", 32))
        if pickup is None or not pickup.active or pickup.kind != LocationKind.STORE:
            raise _Unusual
    else:
        raise _Unusual

    payment_method = payment_reference = ""
    payment_amount = None
    if "payment" in data:
        payment = data["payment"]
        if type(payment) is not dict:
            raise _Unusual
        payment_method = _text(payment, "method", 30)
        payment_reference = _text(payment, "reference", 100, required=False, blank=True)
        payment_amount = _decimal(payment.get("amount"), AMOUNT)

    raw_lines = data.get("lines")
    if type(raw_lines) is not list or not 1 <= len(raw_lines) <= 500:
        raise _Unusual
    lines = []
    for line in raw_lines:
        if type(line) is not dict:
            raise _Unusual
        quantity = line.get("quantity")
        if type(quantity) is not int or not 1 <= quantity <= 100_000:
            raise _Unusual
        lines.append(
            LineInput(
                sku=_text(line, "sku", 64),
                quantity=quantity,
                unit_price=_decimal(line.get("unit_price"), UNIT_PRICE),
            )
        )

    return OrderInput(
        channel=channel,
        external_id=external_id,
        currency=currency,
        customer_email=email,
        customer_name=name,
        fulfillment_method=method,
        pickup_location=pickup,
        shipping_address=address,
        payment_method=payment_method,
        payment_reference=payment_reference,
        payment_amount=payment_amount,
        lines=lines,
    )
