"""Outbox handlers of the orders app: stock that arrives lets waiting backorders allocate."""

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_handler
from apps.orders.services import order_allocate_backorders
from apps.stock.services import EVENT_MOVEMENTS_POSTED, EVENT_RECEIPT_POSTED


@outbox_handler(EVENT_RECEIPT_POSTED, EVENT_MOVEMENTS_POSTED)
def allocate_backorders_on_stock_arrival(event: OutboxEvent) -> None:
    product_ids = event.payload.get("product_ids") or event.payload.get("increased_product_ids") or []
    if not product_ids:
        return
    # Allocation is idempotent (only backordered orders are touched), so a redelivery is harmless.
    order_allocate_backorders(product_ids=product_ids)
