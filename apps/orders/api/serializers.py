"""Order API input and output serializers."""

from decimal import Decimal

from rest_framework import serializers

from apps.catalog.models import Channel, LocationKind
from apps.catalog.selectors import location_get_by_code
from apps.orders.models import Order, OrderHistory
from apps.orders.services import LineInput, OrderInput
from apps.orders.states import FulfillmentMethod, OrderStatus


class StrictPositiveIntegerField(serializers.IntegerField):
    """A JSON integer ≥ 1: no strings, floats or booleans."""

    default_error_messages = {"invalid": "A positive integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class AddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2")


class FulfillmentInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=FulfillmentMethod.choices)
    address = AddressInput(required=False)
    location = serializers.CharField(max_length=32, required=False, help_text="Pickup store code")

    def validate(self, attrs):
        if attrs["method"] == FulfillmentMethod.SHIP:
            if "address" not in attrs:
                raise serializers.ValidationError({"address": "A shipping address is required."})
            attrs.pop("location", None)
        else:
            code = attrs.get("location")
            if not code:
                raise serializers.ValidationError({"location": "A pickup store is required."})
            location = location_get_by_code(code)
            if location is None or not location.active or location.kind != LocationKind.STORE:
                raise serializers.ValidationError({"location": f"Unknown pickup store {code!r}."})
            attrs["location"] = location
            attrs.pop("address", None)
        return attrs


class CustomerInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PaymentInput(serializers.Serializer):
    method = serializers.CharField(max_length=30)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))


class LineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictPositiveIntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))


# The intake body (and its 400s). apps/orders/api/intake.py reads plainly valid bodies without it,
# to the same result; a comment, not a docstring, so the public schema does not mention it.
class OrderCreateInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    external_id = serializers.CharField(max_length=100)
    currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217 code")
    customer = CustomerInput()
    fulfillment = FulfillmentInput()
    payment = PaymentInput(required=False)
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

    def to_order_input(self) -> OrderInput:
        d = self.validated_data
        payment = d.get("payment") or {}
        fulfillment = d["fulfillment"]
        return OrderInput(
            channel=d["channel"],
            external_id=d["external_id"],
            currency=d["currency"],
            customer_email=d["customer"]["email"],
            customer_name=d["customer"].get("name", ""),
            fulfillment_method=fulfillment["method"],
            pickup_location=fulfillment.get("location"),
            shipping_address=dict(fulfillment.get("address") or {}),
            payment_method=payment.get("method", ""),
            payment_reference=payment.get("reference", ""),
            payment_amount=payment.get("amount"),
            # Skus are resolved (unknown or inactive → 400) by order_create, under the stock lock.
            lines=[LineInput(sku=ln["sku"], quantity=ln["quantity"], unit_price=ln["unit_price"]) for ln in d["lines"]],
        )


class AllocationOutput(serializers.Serializer):
    location = serializers.CharField()
    quantity = serializers.IntegerField()


class OrderLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    allocations = AllocationOutput(many=True)


class OrderOutput(serializers.Serializer):
    """Built by hand in `order_representation` (hot path); this class documents the shape."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    customer = CustomerInput()
    fulfillment = serializers.DictField()
    payment = serializers.DictField()
    lines = OrderLineOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def order_representation(order: Order) -> dict:
    fulfillment: dict = {"method": order.fulfillment_method}
    if order.fulfillment_method == FulfillmentMethod.PICKUP:
        fulfillment["location"] = order.pickup_location.code if order.pickup_location else None
    else:
        fulfillment["address"] = order.shipping_address
        if order.carrier or order.tracking_number:
            fulfillment["carrier"] = order.carrier
            fulfillment["tracking"] = order.tracking_number
    return {
        "id": order.pk,
        "number": order.number,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": order.status,
        "currency": order.currency,
        "total": f"{order.total:.2f}",
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "fulfillment": fulfillment,
        "payment": {
            "method": order.payment_method,
            "reference": order.payment_reference,
            "amount": None if order.payment_amount is None else f"{order.payment_amount:.2f}",
        },
        "lines": [
            {
                "sku": line.product.sku,
                "quantity": line.quantity,
                "unit_price": f"{line.unit_price:.2f}",
                "allocations": [
                    {"location": r.location.code, "quantity": r.quantity} for r in getattr(line, "_allocations", [])
                ],
            }
            for line in getattr(order, "_prefetched_lines", [])
        ],
        "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": order.updated_at.isoformat().replace("+00:00", "Z"),
    }


class OrderHistoryOutput(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderHistory
        fields = ["from_status", "to_status", "actor", "reason", "at"]

    def get_actor(self, entry) -> str:
        return entry.actor.username if entry.actor_id else "system"


class TransitionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    tracking = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
