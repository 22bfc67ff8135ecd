"""Order event names and payload builders."""

from apps.core.outbox import Event

ORDER_RECEIVED = "orders.order.received"
ORDER_HELD = "orders.order.held_for_review"
ORDER_ALLOCATED = "orders.order.allocated"
ORDER_BACKORDERED = "orders.order.backordered"
ORDER_PICKING = "orders.order.picking"
ORDER_SHIPPED = "orders.order.shipped"
ORDER_READY = "orders.order.ready_for_pickup"
ORDER_PICKED_UP = "orders.order.picked_up"
ORDER_DELIVERED = "orders.order.delivered"
ORDER_CANCELLED = "orders.order.cancelled"
ORDER_CLOSED = "orders.order.closed"

BY_STATUS = {
    "received": ORDER_RECEIVED,
    "fraud_hold": ORDER_HELD,
    "allocated": ORDER_ALLOCATED,
    "backordered": ORDER_BACKORDERED,
    "picking": ORDER_PICKING,
    "shipped": ORDER_SHIPPED,
    "ready_for_pickup": ORDER_READY,
    "picked_up": ORDER_PICKED_UP,
    "delivered": ORDER_DELIVERED,
    "cancelled": ORDER_CANCELLED,
    "closed": ORDER_CLOSED,
}


def order_event(order, status: str, **extra) -> Event:
    payload = {
        "order_id": order.pk,
        "number": order.number,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": status,
        "total": str(order.total),
        "currency": order.currency,
    }
    payload.update(extra)
    return Event(name=BY_STATUS[status], aggregate_type="orders.order", aggregate_id=order.pk, payload=payload)
