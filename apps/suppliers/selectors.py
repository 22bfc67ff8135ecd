"""Procurement reads: lists and details, what is on order, replenishment needs, reorder-point
suggestions from sales velocity, and the supplier scorecard."""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from apps.catalog.models import Location, Product
from apps.core.errors import NotFound
from apps.stock.selectors import stock_available_by, stock_daily_outflow
from apps.suppliers.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    Supplier,
    SupplierInvoice,
    SupplierProduct,
)
from apps.suppliers.states import ON_ORDER, PurchaseOrderStatus

S = PurchaseOrderStatus


def supplier_list(*, active: bool | None = None, search: str = "") -> QuerySet[Supplier]:
    qs = Supplier.objects.all()
    if active is not None:
        qs = qs.filter(active=active)
    if search:
        qs = qs.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return qs.order_by("code")


def supplier_get(*, supplier_id: int) -> Supplier:
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} does not exist")
    return supplier


def purchase_order_list(
    *, status: str = "", supplier_id: int | None = None, location_id: int | None = None, proposed: bool | None = None
) -> QuerySet[PurchaseOrder]:
    qs = PurchaseOrder.objects.select_related("supplier", "location")
    if status:
        qs = qs.filter(status__in=status.split(","))
    if supplier_id:
        qs = qs.filter(supplier_id=supplier_id)
    if location_id:
        qs = qs.filter(location_id=location_id)
    if proposed is not None:
        qs = qs.filter(proposed=proposed)
    return qs.order_by("-created_at", "-id")


def purchase_order_get(*, po_id: int) -> PurchaseOrder:
    po = (
        PurchaseOrder.objects.select_related("supplier", "location", "created_by")
        .prefetch_related("lines__product", "history__actor", "receipts__lines")
        .filter(pk=po_id)
        .first()
    )
    if po is None:
        raise NotFound(f"Purchase order {po_id} does not exist")
    return po


def supplier_invoice_list(*, status: str = "", supplier_id: int | None = None) -> QuerySet[SupplierInvoice]:
    qs = SupplierInvoice.objects.select_related("supplier")
    if status:
        qs = qs.filter(status__in=status.split(","))
    if supplier_id:
        qs = qs.filter(supplier_id=supplier_id)
    return qs.order_by("-created_at", "-id")


def supplier_invoice_get(*, invoice_id: int) -> SupplierInvoice:
    invoice = (
        SupplierInvoice.objects.select_related("supplier")
        .prefetch_related("lines__po_line__purchase_order", "history__actor")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound(f"Supplier invoice {invoice_id} does not exist")
    return invoice


def on_order_by(*, location_ids: list[int] | None = None) -> dict[tuple[int, int], int]:
    """(location id, product id) → quantity ordered and not yet received, over every open order."""
    qs = PurchaseOrderLine.objects.filter(purchase_order__status__in=ON_ORDER)
    if location_ids is not None:
        qs = qs.filter(purchase_order__location_id__in=location_ids)
    rows = qs.values("purchase_order__location_id", "product_id").annotate(
        open=Sum(F("quantity") - F("received_quantity"))
    )
    return {(r["purchase_order__location_id"], r["product_id"]): max(r["open"] or 0, 0) for r in rows}


def supplier_product_for(*, product_ids: list[int]) -> dict[int, SupplierProduct]:
    """product id → where replenishment buys it: the preferred active supplier, else the cheapest."""
    best: dict[int, SupplierProduct] = {}
    items = (
        SupplierProduct.objects.filter(product_id__in=product_ids, active=True, supplier__active=True)
        .select_related("supplier")
        .order_by("product_id", "-preferred", "cost", "supplier_id")
    )
    for item in items:
        best.setdefault(item.product_id, item)
    return best


@dataclass(frozen=True)
class ReplenishmentNeed:
    location: Location
    product: Product
    available: int
    on_order: int
    reorder_point: int
    order_up_to: int
    supplier_product: SupplierProduct

    @property
    def shortfall(self) -> int:
        return self.order_up_to - self.available - self.on_order


def replenishment_needs() -> list[ReplenishmentNeed]:
    """Every active rule at or below its reorder point (available + on order), with its supplier.
    Rules of products no active supplier sells are left out (the caller cannot order them)."""
    rules = list(ReorderRule.objects.filter(active=True).select_related("location", "product").order_by("id"))
    if not rules:
        return []
    location_ids = sorted({r.location_id for r in rules})
    product_ids = sorted({r.product_id for r in rules})
    available = stock_available_by(location_ids=location_ids, product_ids=product_ids)
    on_order = on_order_by(location_ids=location_ids)
    sources = supplier_product_for(product_ids=product_ids)
    needs = []
    for rule in rules:
        key = (rule.location_id, rule.product_id)
        have = available.get(key, 0) + on_order.get(key, 0)
        if have > rule.reorder_point or rule.product_id not in sources:
            continue
        needs.append(
            ReplenishmentNeed(
                location=rule.location,
                product=rule.product,
                available=available.get(key, 0),
                on_order=on_order.get(key, 0),
                reorder_point=rule.reorder_point,
                order_up_to=rule.order_up_to,
                supplier_product=sources[rule.product_id],
            )
        )
    return needs


@dataclass(frozen=True)
class ReorderSuggestion:
    daily_demand: Decimal
    demand_std_dev: Decimal
    lead_time_days: int
    safety_stock: int
    reorder_point: int
    order_up_to: int


def reorder_rule_suggest(
    *,
    location: Location,
    product: Product,
    lookback_days: int = 56,
    service_factor: Decimal = Decimal("1.65"),
    review_days: int = 7,
    today: date | None = None,
) -> ReorderSuggestion:
    """Reorder point and order-up-to level from sales velocity at the location.

    d = mean daily outflow over the lookback, σ its standard deviation, L the preferred supplier's lead
    time; safety stock = z·σ·√L (z = `service_factor`, 1.65 ≈ 95 % cycle service level); reorder point =
    d·L + safety stock; order-up-to = reorder point + d·review period.
    """
    today = today or timezone.localdate()
    daily = stock_daily_outflow(
        location_id=location.pk, product_id=product.pk, start=today - timedelta(days=lookback_days), end=today
    )
    d = statistics.fmean(daily) if daily else 0.0
    sigma = statistics.pstdev(daily) if len(daily) > 1 else 0.0
    source = supplier_product_for(product_ids=[product.pk]).get(product.pk)
    lead = source.supplier.lead_time_days if source else 7
    safety = math.ceil(float(service_factor) * sigma * math.sqrt(lead))
    point = math.ceil(d * lead) + safety
    up_to = max(point + math.ceil(d * review_days), point + 1)
    return ReorderSuggestion(
        daily_demand=Decimal(str(round(d, 2))),
        demand_std_dev=Decimal(str(round(sigma, 2))),
        lead_time_days=lead,
        safety_stock=safety,
        reorder_point=point,
        order_up_to=up_to,
    )


@dataclass(frozen=True)
class Scorecard:
    supplier: Supplier
    start: date
    end: date
    lines_due: int
    lines_on_time: int
    ordered_quantity: int
    received_quantity: int
    invoices: int
    invoices_first_pass_matched: int
    receipts: int
    average_lead_time_days: Decimal | None

    @staticmethod
    def _rate(part: int, whole: int) -> Decimal | None:
        return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else None

    @property
    def on_time_delivery_rate(self) -> Decimal | None:
        return self._rate(self.lines_on_time, self.lines_due)

    @property
    def fill_rate(self) -> Decimal | None:
        return self._rate(min(self.received_quantity, self.ordered_quantity), self.ordered_quantity)

    @property
    def invoice_match_rate(self) -> Decimal | None:
        return self._rate(self.invoices_first_pass_matched, self.invoices)


def supplier_scorecard(*, supplier: Supplier, start: date, end: date) -> Scorecard:
    """How a supplier performed for orders expected in [start, end]:

    - on-time delivery: PO lines due in the range that were completely received by their expected date;
    - fill rate: received ÷ ordered quantity of those lines (over-deliveries capped);
    - invoice match rate: invoices dated in the range that matched on arrival;
    - average lead time: days from sending an order to its first receipt, for receipts in the range.
    """
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__supplier=supplier,
        purchase_order__expected_date__range=(start, end),
        purchase_order__status__in=[S.SENT, S.PARTIALLY_RECEIVED, S.RECEIVED, S.CLOSED],
    ).annotate(completed_on=Min("receipt_lines__receipt__received_on"))
    due = on_time = ordered = received = 0
    for ln in lines.values("quantity", "received_quantity", "purchase_order__expected_date", "pk"):
        due += 1
        ordered += ln["quantity"]
        received += min(ln["received_quantity"], ln["quantity"])
    # A line is on time when its cumulative receipts reached the ordered quantity by the expected date.
    on_time_rows = (
        PurchaseOrderLine.objects.filter(pk__in=lines.values("pk"))
        .annotate(
            by_due=Sum(
                "receipt_lines__quantity",
                filter=Q(receipt_lines__receipt__received_on__lte=F("purchase_order__expected_date")),
            )
        )
        .filter(by_due__gte=F("quantity"))
    )
    on_time = on_time_rows.count()
    invoices = SupplierInvoice.objects.filter(supplier=supplier, invoice_date__range=(start, end)).aggregate(
        n=Count("id"), first=Count("id", filter=Q(first_pass_matched=True))
    )
    firsts = (
        GoodsReceipt.objects.filter(purchase_order__supplier=supplier, purchase_order__sent_at__isnull=False)
        .values("purchase_order_id", "purchase_order__sent_at")
        .annotate(first=Min("received_on"))
        .filter(first__range=(start, end))
    )
    days = [(r["first"] - timezone.localtime(r["purchase_order__sent_at"]).date()).days for r in firsts]
    receipts = GoodsReceipt.objects.filter(purchase_order__supplier=supplier, received_on__range=(start, end)).count()
    return Scorecard(
        supplier=supplier,
        start=start,
        end=end,
        lines_due=due,
        lines_on_time=on_time,
        ordered_quantity=ordered,
        received_quantity=received,
        invoices=invoices["n"],
        invoices_first_pass_matched=invoices["first"],
        receipts=receipts,
        average_lead_time_days=Decimal(str(round(statistics.fmean(days), 1))) if days else None,
    )


def reorder_rule_list(*, location_ids: list[int] | None = None) -> QuerySet[ReorderRule]:
    qs = ReorderRule.objects.select_related("location", "product")
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs.order_by("location__code", "product__sku")


def supplier_product_list(*, supplier_id: int) -> QuerySet[SupplierProduct]:
    """What a supplier sells (its catalogue), by SKU."""
    return SupplierProduct.objects.filter(supplier_id=supplier_id).select_related("product").order_by("product__sku")


def receipts_by_po_line(*, po_line_ids: list[int] | None = None) -> dict[int, list[tuple[int, Decimal]]]:
    """PO line id → its receipts (quantity, landed unit cost) in receipt order (all lines, or these)."""
    qs = GoodsReceiptLine.objects.order_by("id")
    if po_line_ids is not None:
        qs = qs.filter(po_line_id__in=po_line_ids)
    out: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for line_id, quantity, cost in qs.values_list("po_line_id", "quantity", "landed_unit_cost"):
        out[line_id].append((quantity, cost))
    return out


def received_not_invoiced_value() -> Decimal:
    """Goods received on purchase orders and not yet on a payable invoice, at the cost they went into
    GRNI: per PO line, the receipts' units after the first `invoiced_quantity`, first in first out
    (apps.suppliers.costing) — the figure the journal's GRNI account is checked against."""
    from apps.suppliers.costing import fifo_value

    receipts = receipts_by_po_line()
    invoiced = dict(PurchaseOrderLine.objects.filter(pk__in=list(receipts)).values_list("pk", "invoiced_quantity"))
    total = Decimal("0.00")
    for line_id, rows in receipts.items():
        total += fifo_value(rows, skip=invoiced.get(line_id, 0), take=sum(q for q, _ in rows))
    return total
