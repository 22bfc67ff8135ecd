"""Builders for return tests: orders handed to the customer, and what a return wrote."""

from apps.core.models import OutboxEvent
from apps.orders import services as order_services
from apps.returns.models import Return, ReturnHistory, ReturnInspection, ReturnLine
from apps.returns.services import InspectionInput, ReturnLineInput
from apps.stock.models import StockMovement
from tests.orders.helpers import order_input


def shipped_order(lines, *, external_id="EXT-1", unit_price="10.00", email="ann.lee@example.com", deliver=True):
    """An order for lines [(product, quantity)] (stock must be on hand), shipped and by default delivered."""
    order, _ = order_services.order_create(
        data=order_input(lines, external_id=external_id, unit_price=unit_price, email=email)
    )
    order_services.order_ship(order_id=order.pk)
    if deliver:
        order_services.order_deliver(order_id=order.pk)
    order.refresh_from_db()
    return order


def rl(*pairs):
    """rl(("SKU-A", 2), ...) → [ReturnLineInput]"""
    return [ReturnLineInput(sku=s, quantity=q) for s, q in pairs]


def il(*triples):
    """il(("SKU-A", 2, "restock"), ...) → [InspectionInput]"""
    return [InspectionInput(sku=s, quantity=q, disposition=d) for s, q, d in triples]


def counts() -> dict:
    return {
        "returns": Return.objects.count(),
        "lines": ReturnLine.objects.count(),
        "history": ReturnHistory.objects.count(),
        "inspections": ReturnInspection.objects.count(),
        "movements": StockMovement.objects.count(),
        "events": OutboxEvent.objects.count(),
    }


def return_events(ret) -> list[str]:
    return list(
        OutboxEvent.objects.filter(aggregate_type="returns.return", aggregate_id=str(ret.pk))
        .order_by("id")
        .values_list("name", flat=True)
    )
