"""Order statuses and their groups."""

from django.db import models


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    FRAUD_HOLD = "fraud_hold", "Fraud hold"
    ALLOCATED = "allocated", "Allocated"
    BACKORDERED = "backordered", "Backordered"
    PICKING = "picking", "Picking"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    SHIPPED = "shipped", "Shipped"
    PICKED_UP = "picked_up", "Picked up"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    CLOSED = "closed", "Closed"


class FulfillmentMethod(models.TextChoices):
    SHIP = "ship", "Ship"
    PICKUP = "pickup", "Pickup in store"


S = OrderStatus
# Stock is reserved for the order in these statuses.
HOLDING_STOCK = (S.ALLOCATED, S.PICKING, S.READY_FOR_PICKUP)
CANCELLABLE = (S.RECEIVED, S.FRAUD_HOLD, S.ALLOCATED, S.BACKORDERED, S.PICKING, S.READY_FOR_PICKUP)
# Handed to the customer: stock has left.
FULFILLED = (S.SHIPPED, S.PICKED_UP, S.DELIVERED, S.CLOSED)
OPEN = (S.RECEIVED, S.FRAUD_HOLD, S.ALLOCATED, S.BACKORDERED, S.PICKING, S.READY_FOR_PICKUP, S.SHIPPED)
TERMINAL = (S.CANCELLED, S.CLOSED)
