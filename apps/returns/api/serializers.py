"""Return API input and output serializers."""

from rest_framework import serializers

from apps.catalog.models import Channel
from apps.catalog.selectors import location_get_by_code
from apps.orders.api.serializers import StrictPositiveIntegerField
from apps.returns.models import Return, ReturnHistory
from apps.returns.services import InspectionInput, ReturnLineInput
from apps.returns.states import Band, Disposition, ReturnReason, ReturnStatus


class ReturnLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictPositiveIntegerField(min_value=1, max_value=100_000)


class LocationCodeField(serializers.CharField):
    """A location code, looked up once the text itself is valid (length, no NUL characters)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        code = super().run_validation(data)
        location = location_get_by_code(code)
        if location is None or not location.active:
            raise serializers.ValidationError(f"Unknown location {code!r}.")
        return location


class ReturnCreateInput(serializers.Serializer):
    order_id = StrictPositiveIntegerField(min_value=1, max_value=2**63 - 1)
    channel = serializers.ChoiceField(choices=Channel.choices, help_text="Where the return was initiated")
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    location = LocationCodeField(
        required=False, help_text="Store or warehouse taking the return (required for store staff)"
    )

    def validate_lines(self, lines):
        return [ReturnLineInput(sku=ln["sku"], quantity=ln["quantity"]) for ln in lines]


class DecisionInput(serializers.Serializer):
    comment = serializers.CharField(max_length=500)


class ReceiveInput(serializers.Serializer):
    location = LocationCodeField()


class InspectionLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictPositiveIntegerField(min_value=1, max_value=100_000)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InspectInput(serializers.Serializer):
    lines = InspectionLineInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

    def validate_lines(self, lines):
        return [InspectionInput(**ln) for ln in lines]


class ConfirmRefundInput(serializers.Serializer):
    payment_reference = serializers.CharField(max_length=100)


class CloseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReasonOutput(serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.JSONField()
    points = serializers.IntegerField()
    why = serializers.CharField()


class InspectionOutput(serializers.Serializer):
    quantity = serializers.IntegerField()
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    note = serializers.CharField()


class ReturnLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    inspections = InspectionOutput(many=True)


class ReturnHistoryOutput(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ReturnHistory
        fields = ["from_status", "to_status", "actor", "reason", "at"]

    def get_actor(self, entry) -> str:
        return entry.actor.username if entry.actor_id else "system"


class RefundOutput(serializers.Serializer):
    goods = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    restocking_fee = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    shipping = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    approval = serializers.CharField()
    payment_reference = serializers.CharField()


class DecisionOutput(serializers.Serializer):
    decision = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    comment = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class ReturnOutput(serializers.Serializer):
    """Built by hand in `return_representation`; this class documents the shape."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    order_id = serializers.IntegerField()
    order_number = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    customer_email = serializers.EmailField()
    currency = serializers.CharField()
    location = serializers.CharField(allow_null=True)
    score = serializers.IntegerField()
    band = serializers.ChoiceField(choices=Band.choices)
    scorecard_version = serializers.CharField()
    reasons = ReasonOutput(many=True)
    decision = DecisionOutput(allow_null=True)
    refund = RefundOutput()
    lines = ReturnLineOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReturnDetailOutput(ReturnOutput):
    risk_inputs = serializers.DictField()
    history = ReturnHistoryOutput(many=True)


def _money(v) -> str | None:
    return None if v is None else f"{v:.2f}"


def _dt(v) -> str | None:
    return None if v is None else v.isoformat().replace("+00:00", "Z")


def return_representation(ret: Return, *, history=None) -> dict:
    data = {
        "id": ret.pk,
        "number": ret.number,
        "order_id": ret.order_id,
        "order_number": ret.order.number,
        "channel": ret.channel,
        "reason": ret.reason,
        "note": ret.note,
        "status": ret.status,
        "customer_email": ret.customer_email,
        "currency": ret.currency,
        "location": ret.location.code if ret.location is not None else None,
        "score": ret.risk_score,
        "band": ret.risk_band,
        "scorecard_version": ret.risk_version,
        "reasons": ret.risk_reasons,
        "decision": {
            "decision": ret.decision,
            "by": ret.decided_by.username if ret.decided_by is not None else None,
            "comment": ret.decision_comment,
            "at": _dt(ret.decided_at),
        }
        if ret.decision
        else None,
        "refund": {
            "goods": _money(ret.refund_goods),
            "restocking_fee": _money(ret.restocking_fee),
            "shipping": _money(ret.refund_shipping),
            "amount": _money(ret.refund_amount),
            "approval": ret.refund_approval,
            "payment_reference": ret.refund_payment_reference,
        },
        "lines": [
            {
                "sku": ln.product.sku,
                "quantity": ln.quantity,
                "unit_price": f"{ln.unit_price:.2f}",
                "inspections": [
                    {"quantity": i.quantity, "disposition": i.disposition, "note": i.note} for i in ln.inspections.all()
                ],
            }
            for ln in getattr(ret, "_prefetched_lines", [])
        ],
        "created_at": _dt(ret.created_at),
        "updated_at": _dt(ret.updated_at),
    }
    if history is not None:
        data["risk_inputs"] = ret.risk_inputs
        data["history"] = ReturnHistoryOutput(history, many=True).data
    return data
