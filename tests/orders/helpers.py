"""Builders for order tests."""

from decimal import Decimal

from apps.orders.services import LineInput, OrderInput


def order_input(
    lines,
    *,
    channel="web",
    external_id="EXT-1",
    method="ship",
    pickup=None,
    unit_price="10.00",
    email="ann.lee@example.com",
) -> OrderInput:
    """lines: [(product, quantity)]"""
    return OrderInput(
        channel=channel,
        external_id=external_id,
        currency="USD",
        customer_email=email,
        customer_name="Ann Lee",
        fulfillment_method=method,
        pickup_location=pickup,
        shipping_address={}
        if method == "pickup"
        else {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        payment_method="card",
        payment_reference=f"ch_{external_id}",
        payment_amount=None,
        lines=[LineInput(product=p, quantity=q, unit_price=Decimal(unit_price)) for p, q in lines],
    )


def payload(lines, *, channel="web", external_id="EXT-1", method="ship", pickup=None, unit_price="10.00") -> dict:
    """An API request body; lines: [(sku, quantity)]."""
    total = sum(q for _, q in lines) * Decimal(unit_price)
    fulfillment = (
        {"method": "pickup", "location": pickup}
        if method == "pickup"
        else {
            "method": "ship",
            "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        }
    )
    return {
        "channel": channel,
        "external_id": external_id,
        "currency": "USD",
        "customer": {"email": "ann.lee@example.com", "name": "Ann Lee"},
        "fulfillment": fulfillment,
        "payment": {"method": "card", "reference": f"ch_{external_id}", "amount": str(total)},
        "lines": [{"sku": sku, "quantity": q, "unit_price": unit_price} for sku, q in lines],
    }
