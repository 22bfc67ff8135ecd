"""The lean intake body reader agrees with OrderCreateInput: same OrderInput when it accepts, else it steps aside."""

import copy
import json

import pytest

from apps.orders.api.intake import _fast_parse, _Unusual, order_input_from
from apps.orders.api.serializers import OrderCreateInput
from apps.orders.models import Order, OrderHistory
from apps.stock.models import Reservation
from tests.orders.helpers import payload

pytestmark = pytest.mark.django_db

SHIP = payload([("SKU-A", 2), ("SKU-B", 1)])
PICKUP = payload([("SKU-A", 1)], method="pickup", pickup="ST1", channel="store")


def with_(body: dict, path: str, value) -> dict:
    """A copy of body with the value at a dotted path set (value DELETE removes the key)."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


DELETE = object()

# Bodies the serializer accepts and the fast path must read to the same OrderInput.
PLAIN = {
    "ship": SHIP,
    "pickup": PICKUP,
    "no payment": with_(SHIP, "payment", DELETE),
    "payment without reference": with_(SHIP, "payment.reference", DELETE),
    "blank payment reference": with_(SHIP, "payment.reference", ""),
    "amount as integer": with_(SHIP, "payment.amount", 30),
    "amount without cents": with_(SHIP, "payment.amount", "30"),
    "amount with one decimal": with_(SHIP, "payment.amount", "30.5"),
    "no customer name": with_(SHIP, "customer.name", DELETE),
    "blank customer name": with_(SHIP, "customer.name", ""),
    "unicode name": with_(SHIP, "customer.name", "Zoë Ångström 山田"),
    "full address": with_(
        SHIP,
        "fulfillment.address",
        {
            "country": "DE",
            "postal_code": "10115",
            "region": "",
            "city": "Berlin",
            "line2": "Hinterhaus",
            "line1": "Unter den Linden 1",
            "name": "Ann",
            "extra": "ignored",
        },
    ),
    "unknown top-level key": with_(SHIP, "note", {"anything": [1, 2]}),
    "price as integer": with_(SHIP, "lines.0.unit_price", 10),
    "price without cents": with_(SHIP, "lines.0.unit_price", "10"),
    "price with one decimal": with_(SHIP, "lines.0.unit_price", "9.5"),
    "zero price": with_(SHIP, "lines.0.unit_price", "0.00"),
    "largest price": with_(SHIP, "lines.0.unit_price", "9999999999.99"),
    "largest quantity": with_(SHIP, "lines.0.quantity", 100_000),
    "longest external id": with_(SHIP, "external_id", "x" * 100),
    "500 lines": with_(SHIP, "lines", [{"sku": f"S{i}", "quantity": 1, "unit_price": "1.00"} for i in range(500)]),
    "marketplace": with_(SHIP, "channel", "marketplace"),
}

# Bodies the fast path must leave to the serializer (valid or not: the serializer decides and words errors).
UNUSUAL = {
    "not an object": [SHIP],
    "no channel": with_(SHIP, "channel", DELETE),
    "unknown channel": with_(SHIP, "channel", "fax"),
    "channel as number": with_(SHIP, "channel", 1),
    "padded external id": with_(SHIP, "external_id", " EXT-1 "),
    "numeric external id": with_(SHIP, "external_id", 12345),
    "blank external id": with_(SHIP, "external_id", ""),
    "null external id": with_(SHIP, "external_id", None),
    "huge external id": with_(SHIP, "external_id", "x" * 5000),
    "NUL in external id": with_(SHIP, "external_id", "a\x00b"),
    "lone surrogate in name": with_(SHIP, "customer.name", "\ud800"),
    "lowercase currency": with_(SHIP, "currency", "usd"),
    "currency with newline": with_(SHIP, "currency", "USD\n"),
    "bad email": with_(SHIP, "customer.email", "not-an-email"),
    "customer not an object": with_(SHIP, "customer", "Ann"),
    "null customer name": with_(SHIP, "customer.name", None),
    "padded customer name": with_(SHIP, "customer.name", " Ann "),
    "ship without address": with_(SHIP, "fulfillment.address", DELETE),
    "ship with a location too": with_(SHIP, "fulfillment.location", "ST1"),
    "address missing city": with_(SHIP, "fulfillment.address.city", DELETE),
    "null address line2": with_(SHIP, "fulfillment.address.line2", None),
    "lowercase country": with_(SHIP, "fulfillment.address.country", "us"),
    "pickup without a store": with_(PICKUP, "fulfillment.location", DELETE),
    "pickup at unknown store": with_(PICKUP, "fulfillment.location", "NOWHERE"),
    "pickup at a warehouse": with_(PICKUP, "fulfillment.location", "WH1"),
    "pickup with an address too": with_(PICKUP, "fulfillment.address", SHIP["fulfillment"]["address"]),
    "unknown method": with_(SHIP, "fulfillment.method", "drone"),
    "null payment": with_(SHIP, "payment", None),
    "payment without amount": with_(SHIP, "payment.amount", DELETE),
    "negative amount": with_(SHIP, "payment.amount", "-1.00"),
    "amount as float": with_(SHIP, "payment.amount", 30.5),
    "amount with exponent": with_(SHIP, "payment.amount", "3e1"),
    "amount with 13 whole digits": with_(SHIP, "payment.amount", "1234567890123"),
    "no lines": with_(SHIP, "lines", []),
    "lines not a list": with_(SHIP, "lines", "x"),
    "501 lines": with_(SHIP, "lines", [{"sku": f"S{i}", "quantity": 1, "unit_price": "1.00"} for i in range(501)]),
    "line not an object": with_(SHIP, "lines.0", "SKU-A"),
    "zero quantity": with_(SHIP, "lines.0.quantity", 0),
    "negative quantity": with_(SHIP, "lines.1.quantity", -2),
    "quantity as text": with_(SHIP, "lines.0.quantity", "2"),
    "quantity as float": with_(SHIP, "lines.0.quantity", 2.0),
    "quantity as boolean": with_(SHIP, "lines.0.quantity", True),
    "quantity too large": with_(SHIP, "lines.0.quantity", 100_001),
    "price not a number": with_(SHIP, "lines.0.unit_price", "abc"),
    "price with three decimals": with_(SHIP, "lines.0.unit_price", "1.005"),
    "price with 11 whole digits": with_(SHIP, "lines.0.unit_price", "12345678901"),
    "negative price": with_(SHIP, "lines.0.unit_price", "-1"),
    "price as boolean": with_(SHIP, "lines.0.unit_price", False),
    "null sku": with_(SHIP, "lines.0.sku", None),
    "padded sku": with_(SHIP, "lines.0.sku", "SKU-A "),
}


def serializer_result(body):
    serializer = OrderCreateInput(data=body)
    return serializer.to_order_input() if serializer.is_valid() else serializer.errors


def fast_result(body):
    try:
        return _fast_parse(body)
    except _Unusual:
        return None


@pytest.mark.parametrize("case", list(PLAIN))
def test_plain_bodies_are_read_by_the_fast_path_exactly_as_the_serializer_reads_them(case, store, warehouse):
    body = json.loads(json.dumps(PLAIN[case]))  # what the JSON parser hands over
    fast = fast_result(body)
    assert fast is not None, case
    assert fast == serializer_result(body)
    assert fast.fingerprint() == serializer_result(body).fingerprint()


@pytest.mark.parametrize("case", list(UNUSUAL))
def test_anything_else_is_left_to_the_serializer(case, store, warehouse):
    assert fast_result(UNUSUAL[case]) is None


def test_a_bad_body_gets_the_serializers_400_with_field_paths(store, warehouse):
    body = with_(with_(SHIP, "lines.1.quantity", 0), "currency", "usd")
    with pytest.raises(Exception) as caught:
        order_input_from(body)
    assert caught.value.detail == {
        "currency": ["This value does not match the required pattern."],
        "lines": {1: {"quantity": ["Ensure this value is greater than or equal to 1."]}},
    }


def test_the_api_answers_a_bad_body_with_the_field_paths_and_writes_nothing(api, product, warehouse, receive):
    receive(warehouse, product, 5)
    r = api.post("/api/v1/orders/", with_(payload([("SKU-A", 1)]), "lines.0.unit_price", "abc"), format="json")
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid",
        "detail": "The request has invalid fields.",
        "fields": {"lines": {"0": {"unit_price": ["A valid number is required."]}}},
    }
    assert (Order.objects.count(), OrderHistory.objects.count(), Reservation.objects.count()) == (0, 0, 0)


def test_an_unknown_or_inactive_sku_is_a_400_on_lines_and_writes_nothing(api, product, warehouse, receive):
    from tests.factories import ProductFactory

    receive(warehouse, product, 5)
    retired = ProductFactory(sku="SKU-OLD", active=False)
    receive(warehouse, retired, 5)
    r = api.post("/api/v1/orders/", payload([("SKU-A", 1), ("NOPE", 1), ("SKU-OLD", 1)]), format="json")
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid",
        "detail": "The request has invalid fields.",
        "fields": {"lines": ["Unknown sku: NOPE, SKU-OLD"]},
    }
    assert (Order.objects.count(), OrderHistory.objects.count(), Reservation.objects.count()) == (0, 0, 0)
