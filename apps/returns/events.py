"""Return event names and payload builders."""

from typing import Any

from apps.core.outbox import Event

RETURN_REQUESTED = "returns.return.requested"
RETURN_HELD = "returns.return.held_for_review"
RETURN_AUTHORIZED = "returns.return.authorized"
RETURN_REJECTED = "returns.return.rejected"
RETURN_RECEIVED = "returns.return.received"
RETURN_INSPECTED = "returns.return.inspected"
RETURN_REFUNDED = "returns.return.refunded"
RETURN_CLOSED = "returns.return.closed"
REFUND_APPROVED = "returns.refund.approved"

BY_STATUS = {
    "requested": RETURN_REQUESTED,
    "pending_review": RETURN_HELD,
    "authorized": RETURN_AUTHORIZED,
    "rejected": RETURN_REJECTED,
    "received": RETURN_RECEIVED,
    "inspected": RETURN_INSPECTED,
    "refund_pending": REFUND_APPROVED,
    "refunded": RETURN_REFUNDED,
    "closed": RETURN_CLOSED,
}


def return_event(ret, status: str, **extra: Any) -> Event:
    payload = {
        "return_id": ret.pk,
        "number": ret.number,
        "order_id": ret.order_id,
        "order_number": ret.order.number,
        "channel": ret.channel,
        "status": status,
    }
    if status == "refund_pending":
        payload.update(
            payment_reference=ret.order.payment_reference,
            payment_method=ret.order.payment_method,
            amount=f"{ret.refund_amount:.2f}",
            refund_goods=f"{ret.refund_goods:.2f}",
            restocking_fee=f"{ret.restocking_fee:.2f}",
            refund_shipping=f"{ret.refund_shipping:.2f}",
            currency=ret.currency,
            location=ret.location.code if ret.location_id else "",
        )
    payload.update(extra)
    return Event(name=BY_STATUS[status], aggregate_type="returns.return", aggregate_id=ret.pk, payload=payload)
