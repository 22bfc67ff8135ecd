"""Procurement services: suppliers, purchase orders under spend approval, goods receipts, supplier
invoices with three-way match, overdue and replenishment jobs.

Every state change locks its row, runs the FSM transition, saves, writes a history row and its
outbox event in one transaction. Amounts decide in the company currency at the document's date
(apps.core.currency); a missing rate refuses the document instead of guessing.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import can_proceed

from apps.catalog.models import Location, LocationKind, Product
from apps.core.currency import CENT, exchange_rate_get
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.locks import job_lock
from apps.core.models import OwnerTeam
from apps.core.outbox import Event, outbox_emit
from apps.core.services import incident_raise
from apps.core.types import Actor, real_user
from apps.stock.services import ReceiptLine, stock_receive
from apps.suppliers import events
from apps.suppliers.costing import fifo_value
from apps.suppliers.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    InvoiceHistory,
    PurchaseOrder,
    PurchaseOrderHistory,
    PurchaseOrderLine,
    ReorderRule,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceLine,
    SupplierProduct,
)
from apps.suppliers.selectors import receipts_by_po_line, replenishment_needs
from apps.suppliers.states import InvoiceStatus, MatchResult, PurchaseOrderStatus

S = PurchaseOrderStatus
I = InvoiceStatus  # noqa: E741
SUBJECT_PURCHASE_ORDER = "suppliers.purchase_order"
SUBJECT_INVOICE_VARIANCE = "suppliers.invoice_variance"
INCIDENT_PO_OVERDUE = "suppliers.purchase_order_overdue"
INCIDENT_INVOICE_EXCEPTION = "suppliers.invoice_exception"
HUNDRED = Decimal(100)


def _decided_by(decided: Any) -> str:
    who = decided.actor.get_username() if decided.actor else "system"
    if decided.on_behalf_of is not None:
        who += f" on behalf of {decided.on_behalf_of.get_username()}"
    return who


# --- suppliers -----------------------------------------------------------------------------------
def supplier_create(
    *,
    code: str,
    name: str,
    currency: str,
    lead_time_days: int = 7,
    payment_terms_days: int = 30,
    email: str = "",
) -> Supplier:
    """Create a supplier; a duplicate code is a DomainError (409)."""
    try:
        with transaction.atomic():
            return Supplier.objects.create(
                code=code,
                name=name,
                currency=currency.upper(),
                lead_time_days=lead_time_days,
                payment_terms_days=payment_terms_days,
                email=email,
            )
    except IntegrityError:
        raise DomainError(f"Supplier {code} already exists", code="duplicate_supplier") from None


def supplier_product_set(
    *,
    supplier: Supplier,
    product: Product,
    supplier_sku: str,
    cost: Decimal,
    min_order_qty: int = 1,
    pack_size: int = 1,
    preferred: bool = False,
) -> SupplierProduct:
    """Create or update what a supplier sells. Marking it preferred unmarks the product's other supplier."""
    with transaction.atomic():
        if preferred:
            SupplierProduct.objects.filter(product=product, preferred=True).exclude(supplier=supplier).update(
                preferred=False
            )
        try:
            with transaction.atomic():
                item, _ = SupplierProduct.objects.update_or_create(
                    supplier=supplier,
                    product=product,
                    defaults={
                        "supplier_sku": supplier_sku,
                        "cost": cost,
                        "min_order_qty": min_order_qty,
                        "pack_size": pack_size,
                        "preferred": preferred,
                        "active": True,
                    },
                )
        except IntegrityError:
            raise DomainError(
                f"Supplier SKU {supplier_sku} is already used by {supplier.code} for another product",
                code="duplicate_supplier_sku",
            ) from None
    return item


# --- purchase orders -----------------------------------------------------------------------------
@dataclass(frozen=True)
class POLineInput:
    product: Product
    quantity: int
    unit_cost: Decimal | None = None  # None: the supplier's catalogue cost


def _po_lock(po_id: int) -> PurchaseOrder:
    po = (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("supplier", "location")
        .filter(pk=po_id)
        .first()
    )
    if po is None:
        raise NotFound(f"Purchase order {po_id} does not exist")
    return po


def _po_check(po: PurchaseOrder, transition: Any, verb: str) -> None:
    if not can_proceed(transition):
        raise InvalidTransition(
            f"Purchase order {po.number} cannot be {verb} from status {po.status!r}",
            extra={"status": po.status, "purchase_order_id": po.pk},
        )


def _po_history(po: PurchaseOrder, from_status: str, actor: Any, reason: str, at: datetime) -> PurchaseOrderHistory:
    return PurchaseOrderHistory.objects.create(
        purchase_order=po,
        from_status=from_status,
        to_status=po.status,
        actor=real_user(actor),
        reason=reason[:500],
        at=at,
    )


def _po_lines(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(po.lines.select_related("product").order_by("line_no"))


def _po_event(po: PurchaseOrder, name: str, **extra: Any) -> Event:
    payload = {
        "purchase_order_id": po.pk,
        "number": po.number,
        "supplier": po.supplier.code,
        "location": po.location.code,
        "status": po.status,
        "currency": po.currency,
        "total": str(po.total),
        "total_company": str(po.total_company),
        **extra,
    }
    return Event(name=name, aggregate_type="suppliers.purchase_order", aggregate_id=po.pk, payload=payload)


def purchase_order_create(
    *,
    supplier: Supplier,
    location: Location,
    lines: Sequence[POLineInput],
    actor: Actor | None,
    note: str = "",
    order_date: date | None = None,
    proposed: bool = False,
) -> PurchaseOrder:
    """Draft a purchase order in the supplier's currency. Lines without a cost take the supplier's
    catalogue cost; a product the supplier does not sell needs an explicit cost. The company-currency
    total uses the rate of the order date (refused when there is none)."""
    if not lines:
        raise DomainError("A purchase order needs at least one line", code="empty_purchase_order")
    if not supplier.active:
        raise DomainError(f"Supplier {supplier.code} is inactive", code="supplier_inactive")
    if not location.active:  # warehouses, or stores for direct-to-store deliveries
        raise DomainError(f"Location {location.code} is inactive and cannot receive goods", code="location_inactive")
    products = [ln.product.pk for ln in lines]
    if len(set(products)) != len(products):
        raise DomainError("A product may appear on one line only", code="duplicate_line")
    catalogue = {sp.product_id: sp for sp in SupplierProduct.objects.filter(supplier=supplier, product_id__in=products)}
    missing = [ln.product.sku for ln in lines if ln.unit_cost is None and ln.product.pk not in catalogue]
    if missing:
        raise DomainError(
            f"{supplier.code} has no cost for {', '.join(missing)}: give a unit cost",
            code="no_supplier_cost",
            extra={"skus": missing},
        )
    order_date = order_date or timezone.localdate()
    rate = exchange_rate_get(currency=supplier.currency, on=order_date)
    with transaction.atomic():
        po = PurchaseOrder.objects.create(
            supplier=supplier,
            location=location,
            currency=supplier.currency,
            order_date=order_date,
            expected_date=order_date + timedelta(days=supplier.lead_time_days),
            exchange_rate=rate,
            proposed=proposed,
            note=note[:500],
            created_by=real_user(actor),
        )
        rows = []
        for n, ln in enumerate(lines, start=1):
            item = catalogue.get(ln.product.pk)
            rows.append(
                PurchaseOrderLine(
                    purchase_order=po,
                    line_no=n,
                    product=ln.product,
                    supplier_sku=item.supplier_sku if item else "",
                    quantity=ln.quantity,
                    unit_cost=ln.unit_cost if ln.unit_cost is not None else catalogue[ln.product.pk].cost,
                )
            )
        PurchaseOrderLine.objects.bulk_create(rows)
        po.total = sum((r.amount for r in rows), Decimal("0.00"))
        po.total_company = (po.total * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        po.save(update_fields=["total", "total_company"])
        _po_history(po, "", actor, "replenishment proposal" if proposed else "created", po.created_at)
        outbox_emit(_po_event(po, events.PO_CREATED, lines=len(rows)))
    return po


def purchase_order_submit(*, po_id: int, actor: Actor) -> PurchaseOrder:
    """Submit a draft. The spend policy decides on the company-currency total: within the first band
    it is approved at once, otherwise it waits in `pending_approval` with an approval process."""
    from apps.approvals.services import approval_evaluate, approval_request_start

    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.submit, "submitted")
        evaluation = approval_evaluate(subject_type=SUBJECT_PURCHASE_ORDER, metrics={"amount": po.total_company})
        now = timezone.now()
        po.approval_levels = evaluation.levels
        po.updated_at = now
        if evaluation.required:
            po.submit()
            po.save()
            _po_history(po, S.DRAFT, actor, f"needs {evaluation.levels} approval level(s)", now)
            approval_request_start(
                evaluation=evaluation,
                subject_id=po.pk,
                requested_by=actor,
                summary=f"{po.number} {po.supplier.code} → {po.location.code}: {po.total} {po.currency}"
                f" ({po.total_company} {settings.COMPANY_CURRENCY})",
                location=po.location,
            )
            outbox_emit(_po_event(po, events.PO_SUBMITTED, approval_levels=evaluation.levels))
        else:
            po.approve()
            po.approved_at = now
            po.save()
            _po_history(po, S.DRAFT, actor, "within the spend limit: approved on submit", now)
            outbox_emit(_po_event(po, events.PO_APPROVED))
    return po


def purchase_order_apply_approval(decided: Any) -> PurchaseOrder:
    """The approval process approved the order (every level)."""
    with transaction.atomic():
        po = _po_lock(int(decided.subject_id))
        if po.status != S.PENDING_APPROVAL:
            raise InvalidTransition(
                f"Purchase order {po.number} is not waiting for approval", extra={"status": po.status}
            )
        now = timezone.now()
        po.approve()
        po.approved_at = po.updated_at = now
        po.save()
        _po_history(
            po, S.PENDING_APPROVAL, decided.actor, f"approved by {_decided_by(decided)} (#{decided.request_id})", now
        )
        outbox_emit(_po_event(po, events.PO_APPROVED, approval_request_id=decided.request_id))
    return po


def purchase_order_apply_rejection(decided: Any) -> PurchaseOrder:
    with transaction.atomic():
        po = _po_lock(int(decided.subject_id))
        _po_check(po, po.reject, "rejected")
        now = timezone.now()
        po.reject()
        po.updated_at = now
        po.save()
        reason = f"rejected by {_decided_by(decided)} (#{decided.request_id}): {decided.comment}"
        _po_history(po, S.PENDING_APPROVAL, decided.actor, reason, now)
        outbox_emit(_po_event(po, events.PO_REJECTED, approval_request_id=decided.request_id))
    return po


def purchase_order_withdraw(*, po_id: int, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Take a PO pending approval back to draft (e.g. to correct a line): its approval request ends
    `withdrawn`. Only the requester or a manager of approvals may do it."""
    from apps.approvals.services import approval_request_withdraw

    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.withdraw, "withdrawn")
        approval_request_withdraw(subject_type=SUBJECT_PURCHASE_ORDER, subject_id=po.pk, actor=actor, comment=reason)
        now = timezone.now()
        po.withdraw()
        po.approval_levels = 0
        po.updated_at = now
        po.save()
        _po_history(po, S.PENDING_APPROVAL, actor, reason or "withdrawn from approval", now)
        outbox_emit(_po_event(po, events.PO_WITHDRAWN, reason=reason[:200]))
    return po


def purchase_order_send(*, po_id: int, actor: Actor) -> PurchaseOrder:
    """Send an approved order: expected date = today + the supplier's lead time; emits
    `suppliers.purchase_order.sent` (the integration that mails or EDIs it listens to that)."""
    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.send, "sent")
        now = timezone.now()
        po.send()
        po.sent_at = po.updated_at = now
        po.expected_date = timezone.localdate() + timedelta(days=po.supplier.lead_time_days)
        po.save()
        _po_history(po, S.APPROVED, actor, f"sent, expected {po.expected_date.isoformat()}", now)
        lines = _po_lines(po)
        outbox_emit(
            _po_event(
                po,
                events.PO_SENT,
                expected_date=po.expected_date.isoformat(),
                supplier_email=po.supplier.email,
                lines=[
                    {
                        "line_no": ln.line_no,
                        "sku": ln.product.sku,
                        "supplier_sku": ln.supplier_sku,
                        "quantity": ln.quantity,
                        "unit_cost": str(ln.unit_cost),
                    }
                    for ln in lines
                ],
            )
        )
    return po


def purchase_order_cancel(*, po_id: int, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Cancel an order nothing has been received against (draft, approved or sent)."""
    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.cancel, "cancelled")
        if po.lines.filter(received_quantity__gt=0).exists():
            raise DomainError(f"Goods were received against {po.number}: close it instead", code="already_received")
        before, now = po.status, timezone.now()
        po.cancel()
        po.updated_at = now
        po.save()
        _po_history(po, before, actor, reason or "cancelled", now)
        outbox_emit(_po_event(po, events.PO_CANCELLED, reason=reason[:200]))
    return po


def purchase_order_close(*, po_id: int, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Close a (partially) received order: what is still open is no longer expected."""
    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.close, "closed")
        before, now = po.status, timezone.now()
        short = sum(ln.open_quantity for ln in _po_lines(po))
        po.close()
        po.updated_at = now
        po.save()
        _po_history(po, before, actor, reason or (f"closed short by {short}" if short else "closed"), now)
        outbox_emit(_po_event(po, events.PO_CLOSED, closed_short=short))
    return po


# --- goods receipt -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiveLineInput:
    line_id: int
    quantity: int


def purchase_order_receive(
    *,
    po_id: int,
    lines: Sequence[ReceiveLineInput],
    actor: Actor | None,
    reference: str = "",
    received_on: date | None = None,
) -> GoodsReceipt:
    """Receive goods against a sent order, partially or completely.

    The order row is locked first, so two receipts of the last open quantity serialize and the second
    sees what the first took (over-receipt beyond PO_OVER_RECEIPT_TOLERANCE_PCT is refused, nothing
    written). Stock goes in through the stock service at the landed unit cost (company currency at
    the receipt date), which allocates waiting backorders and lets the journal value the goods.
    """
    if not lines:
        raise DomainError("A goods receipt needs at least one line", code="empty_receipt")
    if any(ln.quantity <= 0 for ln in lines):
        raise DomainError("Received quantities must be positive", code="invalid_quantity")
    if len({ln.line_id for ln in lines}) != len(lines):
        raise DomainError("A purchase order line may appear once per receipt", code="duplicate_line")
    received_on = received_on or timezone.localdate()
    with transaction.atomic():
        po = _po_lock(po_id)
        _po_check(po, po.receive_partially, "received")
        po_lines = {ln.pk: ln for ln in _po_lines(po)}
        unknown = sorted(ln.line_id for ln in lines if ln.line_id not in po_lines)
        if unknown:
            raise DomainError(
                f"Lines {unknown} are not lines of {po.number}", code="unknown_po_line", extra={"line_ids": unknown}
            )
        tolerance = settings.PO_OVER_RECEIPT_TOLERANCE_PCT
        over = []
        for ln in lines:
            pl = po_lines[ln.line_id]
            allowed = int((pl.quantity * (HUNDRED + tolerance) / HUNDRED).to_integral_value(rounding=ROUND_FLOOR))
            if pl.received_quantity + ln.quantity > allowed:
                over.append(
                    {
                        "line_id": pl.pk,
                        "sku": pl.product.sku,
                        "ordered": pl.quantity,
                        "already_received": pl.received_quantity,
                        "receiving": ln.quantity,
                        "allowed": allowed,
                    }
                )
        if over:
            raise DomainError(
                f"Over-receipt on {po.number}: "
                + "; ".join(f"{o['sku']} {o['already_received']}+{o['receiving']} > {o['allowed']}" for o in over),
                code="over_receipt",
                extra={"lines": over},
            )
        rate = exchange_rate_get(currency=po.currency, on=received_on)
        receipt = GoodsReceipt.objects.create(
            purchase_order=po,
            location=po.location,
            reference=reference[:100],
            received_on=received_on,
            actor=real_user(actor),
        )
        gr_lines = [
            GoodsReceiptLine(
                receipt=receipt,
                po_line=po_lines[ln.line_id],
                quantity=ln.quantity,
                landed_unit_cost=(po_lines[ln.line_id].unit_cost * rate).quantize(CENT, rounding=ROUND_HALF_UP),
            )
            for ln in lines
        ]
        GoodsReceiptLine.objects.bulk_create(gr_lines)
        for ln in lines:
            PurchaseOrderLine.objects.filter(pk=ln.line_id).update(
                received_quantity=F("received_quantity") + ln.quantity
            )
            po_lines[ln.line_id].received_quantity += ln.quantity
        stock_receipt = stock_receive(
            location=po.location,
            reference=f"{po.number} GR-{receipt.pk:06d}" + (f" {reference}" if reference else ""),
            lines=[
                ReceiptLine(product=g.po_line.product, quantity=g.quantity, unit_cost=g.landed_unit_cost)
                for g in gr_lines
            ],
            actor=actor,
            source="purchase_order",
            source_id=po.pk,
        )
        receipt.stock_receipt_id = stock_receipt.pk
        receipt.save(update_fields=["stock_receipt_id"])
        complete = all(pl.received_quantity >= pl.quantity for pl in po_lines.values())
        before, now = po.status, timezone.now()
        po.receive_fully() if complete else po.receive_partially()
        po.updated_at = now
        if complete:
            po.received_at = now
        po.save()
        received = sum(ln.quantity for ln in lines)
        _po_history(po, before, actor, f"GR-{receipt.pk:06d}: {received} unit(s) received", now)
        outbox_emit(
            _po_event(
                po,
                events.GOODS_RECEIVED,
                receipt_id=receipt.pk,
                received_on=received_on.isoformat(),
                lines=[
                    {
                        "line_no": g.po_line.line_no,
                        "product_id": g.po_line.product_id,
                        "sku": g.po_line.product.sku,
                        "quantity": g.quantity,
                        "landed_unit_cost": str(g.landed_unit_cost),
                    }
                    for g in gr_lines
                ],
            )
        )
    return receipt


# --- supplier invoices and three-way match -------------------------------------------------------
@dataclass(frozen=True)
class InvoiceLineInput:
    quantity: int
    unit_price: Decimal
    po_line_id: int | None = None
    po_reference: str = ""  # "PO-000012" as the supplier wrote it, with `sku` when no line id is known
    sku: str = ""


def _resolve_po_lines(lines: Sequence[InvoiceLineInput], supplier: Supplier) -> list[int | None]:
    """The id of the supplier's PO line each invoice line bills (None when it names none), found in
    one query: by line id, or by "PO-000012" + sku (the PO's first line of that sku)."""
    wanted: dict[int, tuple[int, str]] = {}  # line index → (PO id, sku)
    for i, ln in enumerate(lines):
        ref = ln.po_reference.strip().upper()
        if ln.po_line_id is None and ref.startswith("PO-") and ref[3:].isdigit() and ln.sku:
            wanted[i] = (int(ref[3:]), ln.sku)
    q = Q(pk__in={ln.po_line_id for ln in lines if ln.po_line_id is not None})
    for po_id, sku in set(wanted.values()):
        q |= Q(purchase_order_id=po_id, product__sku=sku)
    ids: set[int] = set()
    first_by_po_sku: dict[tuple[int, str], int] = {}
    rows = (
        PurchaseOrderLine.objects.filter(purchase_order__supplier=supplier)
        .filter(q)
        .order_by("pk")
        .values_list("pk", "purchase_order_id", "product__sku")
    )
    for pk, po_id, sku in rows:
        ids.add(pk)
        first_by_po_sku.setdefault((po_id, sku), pk)
    resolved: list[int | None] = []
    for i, ln in enumerate(lines):
        if ln.po_line_id is not None:
            resolved.append(ln.po_line_id if ln.po_line_id in ids else None)
        else:
            resolved.append(first_by_po_sku.get(wanted[i]) if i in wanted else None)
    return resolved


def _match_line(
    ln: InvoiceLineInput, po_line: PurchaseOrderLine | None, billed_before: int
) -> tuple[str, str, Decimal | None]:
    """Three-way match of one invoice line: (result, reason, expected unit price)."""
    if po_line is None:
        return MatchResult.UNKNOWN_LINE, "no such line on an order of this supplier", None
    if po_line.received_quantity == 0:
        return MatchResult.NO_RECEIPT, "nothing received on this line yet", po_line.unit_cost
    qty_tol = settings.INVOICE_QUANTITY_TOLERANCE_PCT
    billable = int((po_line.received_quantity * (HUNDRED + qty_tol) / HUNDRED).to_integral_value(rounding=ROUND_FLOOR))
    if billed_before + ln.quantity > billable:
        return (
            MatchResult.OVER_BILLED,
            f"billed {billed_before}+{ln.quantity}, received {po_line.received_quantity}",
            po_line.unit_cost,
        )
    price_tol = settings.INVOICE_PRICE_TOLERANCE_PCT
    if abs(ln.unit_price - po_line.unit_cost) * HUNDRED > po_line.unit_cost * price_tol:
        return (
            MatchResult.PRICE_VARIANCE,
            f"price {ln.unit_price} vs PO {po_line.unit_cost} (tolerance {price_tol}%)",
            po_line.unit_cost,
        )
    return MatchResult.MATCHED, "", po_line.unit_cost


def _invoice_history(invoice: SupplierInvoice, from_status: str, actor: Any, reason: str, at: datetime) -> None:
    InvoiceHistory.objects.create(
        invoice=invoice,
        from_status=from_status,
        to_status=invoice.status,
        actor=real_user(actor),
        reason=reason[:500],
        at=at,
    )


def _invoice_payable(invoice: SupplierInvoice, lines: Sequence[SupplierInvoiceLine]) -> None:
    """The invoice is ready to pay: count its quantities as invoiced and announce it to the journal.

    Each line relieves GRNI by the value of the units it bills, first in first out over the PO line's
    receipts (apps.suppliers.costing), so the journal's GRNI stays equal to received-not-invoiced.
    The PO lines are locked: billed positions are read and advanced by one invoice at a time.
    """
    po_line_ids = sorted({ln.po_line_id for ln in lines if ln.po_line_id is not None})
    locked = {
        pl.pk: pl for pl in PurchaseOrderLine.objects.select_for_update().filter(pk__in=po_line_ids).order_by("pk")
    }
    receipts = receipts_by_po_line(po_line_ids=po_line_ids)
    billed = {pk: pl.invoiced_quantity for pk, pl in locked.items()}
    payload_lines = []
    for ln in lines:
        received_value = Decimal("0.00")
        product_id = None
        if ln.po_line_id is not None:
            received_value = fifo_value(receipts[ln.po_line_id], skip=billed[ln.po_line_id], take=ln.quantity)
            billed[ln.po_line_id] += ln.quantity
            product_id = locked[ln.po_line_id].product_id
        payload_lines.append(
            {
                "product_id": product_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "received_value": str(received_value.quantize(CENT, rounding=ROUND_HALF_UP)),
                "received_unit_cost": str((received_value / ln.quantity).quantize(CENT, rounding=ROUND_HALF_UP)),
                "invoice_unit_cost": str(
                    (ln.unit_price * invoice.exchange_rate).quantize(CENT, rounding=ROUND_HALF_UP)
                ),
            }
        )
    for pk, quantity in billed.items():
        locked[pk].invoiced_quantity = quantity
    PurchaseOrderLine.objects.bulk_update(list(locked.values()), ["invoiced_quantity"])  # one UPDATE
    outbox_emit(
        Event(
            name=events.INVOICE_MATCHED,
            aggregate_type="suppliers.invoice",
            aggregate_id=invoice.pk,
            payload={
                "invoice_id": invoice.pk,
                "supplier_code": invoice.supplier.code,
                "invoice_number": invoice.number,
                "invoice_date": invoice.invoice_date.isoformat(),
                "currency": invoice.currency,
                "status": invoice.status,
                "lines": payload_lines,
                "total": str(invoice.total_company),
                "total_document_currency": str(invoice.total),
            },
        )
    )


def supplier_invoice_create(
    *,
    supplier: Supplier,
    number: str,
    invoice_date: date,
    lines: Sequence[InvoiceLineInput],
    actor: Actor | None,
    currency: str = "",
) -> SupplierInvoice:
    """Record a supplier invoice and three-way match it line by line (PO price within
    INVOICE_PRICE_TOLERANCE_PCT, quantity within what was received less what was already invoiced).

    All lines matched: `matched` (ready to pay, `suppliers.invoice.matched` emitted). Otherwise
    `exception` with the reason per line and one incident for finance. A number the supplier has used
    before is refused (409) and nothing is written. The PO lines are locked in key order, so two
    invoices for the same goods cannot both pass on the same received quantity.
    """
    if not lines:
        raise DomainError("An invoice needs at least one line", code="empty_invoice")
    currency = (currency or supplier.currency).upper()
    if currency != supplier.currency:
        raise DomainError(f"{supplier.code} invoices in {supplier.currency}, not {currency}", code="currency_mismatch")
    rate = exchange_rate_get(currency=currency, on=invoice_date)
    resolved = _resolve_po_lines(lines, supplier)
    try:
        with transaction.atomic():
            line_ids = sorted({pk for pk in resolved if pk is not None})
            locked = {
                pl.pk: pl
                for pl in PurchaseOrderLine.objects.select_for_update()
                .select_related("product", "purchase_order")
                .filter(pk__in=line_ids)
                .order_by("pk")
            }
            billed: dict[int, int] = defaultdict(int)
            matched = []
            for ln, pk in zip(lines, resolved, strict=True):
                pl = locked.get(pk) if pk is not None else None
                before = (pl.invoiced_quantity + billed[pl.pk]) if pl is not None else 0
                matched.append((ln, pl, *_match_line(ln, pl, before)))
                if pl is not None:
                    billed[pl.pk] += ln.quantity
            exceptions = [m for m in matched if m[2] != MatchResult.MATCHED]
            total = sum((ln.quantity * ln.unit_price for ln in lines), Decimal("0.00"))
            invoice = SupplierInvoice.objects.create(
                supplier=supplier,
                number=number,
                invoice_date=invoice_date,
                due_date=invoice_date + timedelta(days=supplier.payment_terms_days),
                currency=currency,
                total=total,
                exchange_rate=rate,
                total_company=(total * rate).quantize(CENT, rounding=ROUND_HALF_UP),
                status=I.EXCEPTION if exceptions else I.MATCHED,
                first_pass_matched=not exceptions,
                created_by=real_user(actor),
            )
            rows = [
                SupplierInvoiceLine(
                    invoice=invoice,
                    line_no=n,
                    po_line=pl,
                    po_reference=(pl.purchase_order.number if pl else ln.po_reference)[:60],
                    sku=(pl.product.sku if pl else ln.sku)[:60],
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    result=result,
                    reason=reason,
                    expected_unit_price=expected,
                    variance=((ln.unit_price - expected) * ln.quantity) if expected is not None else Decimal("0.00"),
                )
                for n, (ln, pl, result, reason, expected) in enumerate(matched, start=1)
            ]
            SupplierInvoiceLine.objects.bulk_create(rows)
            now = timezone.now()
            if exceptions:
                incident = incident_raise(
                    kind=INCIDENT_INVOICE_EXCEPTION,
                    title=f"Invoice {number} of {supplier.code} does not match: "
                    + ", ".join(sorted({m[2] for m in exceptions})),
                    severity="medium",
                    subject=invoice,
                    details={
                        "invoice_id": invoice.pk,
                        "lines": [
                            {"line_no": r.line_no, "sku": r.sku, "result": r.result, "reason": r.reason}
                            for r in rows
                            if r.result != MatchResult.MATCHED
                        ],
                    },
                    dedupe_key=f"supplier-invoice-{invoice.pk}",
                    owner_team=OwnerTeam.FINANCE,
                )
                invoice.incident_id = incident.pk
                invoice.save(update_fields=["incident_id"])
                _invoice_history(invoice, "", actor, f"{len(exceptions)} line(s) do not match", now)
            else:
                _invoice_history(invoice, "", actor, "three-way match passed", now)
                _invoice_payable(invoice, rows)
    except IntegrityError:
        raise DomainError(f"{supplier.code} has already sent invoice {number}", code="duplicate_invoice") from None
    return invoice


def _invoice_lock(invoice_id: int) -> SupplierInvoice:
    invoice = (
        SupplierInvoice.objects.select_for_update(of=("self",)).select_related("supplier").filter(pk=invoice_id).first()
    )
    if invoice is None:
        raise NotFound(f"Supplier invoice {invoice_id} does not exist")
    return invoice


def supplier_invoice_request_acceptance(*, invoice_id: int, actor: Actor, comment: str = "") -> SupplierInvoice:
    """Ask finance to accept an invoice's variances as billed: an approval process on the absolute
    variance in the company currency."""
    from apps.approvals.services import approval_evaluate, approval_request_start

    with transaction.atomic():
        invoice = _invoice_lock(invoice_id)
        if not can_proceed(invoice.request_acceptance):
            raise InvalidTransition(
                f"Invoice {invoice.number} is {invoice.status}: only an exception can be accepted",
                extra={"status": invoice.status},
            )
        lines = list(invoice.lines.all())
        if any(ln.result == MatchResult.UNKNOWN_LINE for ln in lines):
            raise DomainError(
                "Lines that match no purchase order line cannot be accepted: dispute the invoice",
                code="unknown_po_line",
            )
        variance = sum((abs(ln.variance) for ln in lines), Decimal("0.00"))
        amount = (variance * invoice.exchange_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        evaluation = approval_evaluate(subject_type=SUBJECT_INVOICE_VARIANCE, metrics={"amount": amount})
        now = timezone.now()
        invoice.request_acceptance()
        invoice.updated_at = now
        invoice.save()
        _invoice_history(invoice, I.EXCEPTION, actor, comment or f"acceptance requested, variance {amount}", now)
        if evaluation.required:
            approval_request_start(
                evaluation=evaluation,
                subject_id=invoice.pk,
                requested_by=actor,
                summary=f"Accept invoice {invoice.number} of {invoice.supplier.code}: variance {amount} "
                f"{settings.COMPANY_CURRENCY}; " + (comment or ""),
            )
        else:  # a policy with no level for this amount: accepted at once, still with its trail
            _invoice_accept(invoice, actor=actor, reason="within the variance policy: accepted", now=now)
    return invoice


def _invoice_accept(invoice: SupplierInvoice, *, actor: Any, reason: str, now: datetime) -> None:
    invoice.accept()
    invoice.updated_at = now
    invoice.save()
    _invoice_history(invoice, I.PENDING_ACCEPTANCE, actor, reason, now)
    _invoice_payable(invoice, list(invoice.lines.select_related("po_line").order_by("line_no")))


def supplier_invoice_apply_approval(decided: Any) -> SupplierInvoice:
    with transaction.atomic():
        invoice = _invoice_lock(int(decided.subject_id))
        if invoice.status != I.PENDING_ACCEPTANCE:
            raise InvalidTransition(
                f"Invoice {invoice.number} is not waiting for acceptance", extra={"status": invoice.status}
            )
        _invoice_accept(
            invoice,
            actor=decided.actor,
            reason=f"variance accepted by {_decided_by(decided)} (#{decided.request_id})",
            now=timezone.now(),
        )
    return invoice


def supplier_invoice_apply_rejection(decided: Any) -> SupplierInvoice:
    with transaction.atomic():
        invoice = _invoice_lock(int(decided.subject_id))
        now = timezone.now()
        invoice.dispute()
        invoice.updated_at = now
        invoice.save()
        _invoice_history(
            invoice,
            I.PENDING_ACCEPTANCE,
            decided.actor,
            f"variance refused by {_decided_by(decided)}: {decided.comment}",
            now,
        )
    return invoice


def supplier_invoice_dispute(*, invoice_id: int, actor: Actor, reason: str) -> SupplierInvoice:
    """Send an exception back to the supplier (a credit note or a corrected invoice is expected)."""
    with transaction.atomic():
        invoice = _invoice_lock(invoice_id)
        if invoice.status != I.EXCEPTION:
            raise InvalidTransition(f"Invoice {invoice.number} is {invoice.status}", extra={"status": invoice.status})
        now = timezone.now()
        invoice.dispute()
        invoice.updated_at = now
        invoice.save()
        _invoice_history(invoice, I.EXCEPTION, actor, reason or "disputed", now)
    return invoice


# --- jobs ----------------------------------------------------------------------------------------
def purchase_orders_flag_overdue(*, today: date | None = None) -> int:
    """Raise (or count again) one incident per sent order past its expected date with quantities open."""
    today = today or timezone.localdate()
    overdue = (
        PurchaseOrder.objects.filter(status__in=[S.SENT, S.PARTIALLY_RECEIVED], expected_date__lt=today)
        .select_related("supplier", "location")
        .prefetch_related("lines")
        .order_by("id")
    )
    n = 0
    for po in overdue:
        open_qty = sum(ln.open_quantity for ln in po.lines.all())
        if open_qty <= 0:
            continue
        incident_raise(
            kind=INCIDENT_PO_OVERDUE,
            title=f"{po.number} from {po.supplier.code} is {(today - po.expected_date).days} day(s) late "
            f"({open_qty} unit(s) open)",
            severity="medium",
            subject=po,
            details={
                "purchase_order_id": po.pk,
                "expected_date": po.expected_date.isoformat(),
                "open_quantity": open_qty,
            },
            dedupe_key=f"po-overdue-{po.pk}",
            location=po.location,
            owner_team=OwnerTeam.INVENTORY,
        )
        n += 1
    return n


def _round_order_quantity(need: int, *, moq: int, pack: int) -> int:
    """At least the MOQ, in whole packs."""
    qty = max(need, moq)
    return math.ceil(qty / pack) * pack


def purchase_orders_propose(*, actor: Actor | None = None, today: date | None = None) -> list[PurchaseOrder]:
    """Draft purchase orders for every warehouse rule whose available + on-order stock is at or below
    its reorder point: order up to `order_up_to`, from the product's preferred supplier (else the
    cheapest active one), rounded to MOQ and pack size, one draft per supplier and location.
    Quantities already on order (drafts included) count, so running it twice proposes nothing new."""
    with transaction.atomic():
        job_lock("suppliers.purchase_orders_propose")  # two runs would both see the same shortfall
        grouped: dict[tuple[int, int], list[POLineInput]] = defaultdict(list)
        suppliers: dict[int, Supplier] = {}
        locations: dict[int, Location] = {}
        for need in replenishment_needs():
            item = need.supplier_product
            qty = _round_order_quantity(need.shortfall, moq=item.min_order_qty, pack=item.pack_size)
            grouped[(item.supplier_id, need.location.pk)].append(POLineInput(product=need.product, quantity=qty))
            suppliers[item.supplier_id] = item.supplier
            locations[need.location.pk] = need.location
        created = []
        for (supplier_id, location_id), lines in sorted(grouped.items()):
            created.append(
                purchase_order_create(
                    supplier=suppliers[supplier_id],
                    location=locations[location_id],
                    lines=sorted(lines, key=lambda ln: ln.product.sku),
                    actor=actor,
                    note="proposed by replenishment",
                    order_date=today,
                    proposed=True,
                )
            )
    return created


def reorder_rule_set(*, location: Location, product: Product, reorder_point: int, order_up_to: int) -> ReorderRule:
    if location.kind != LocationKind.WAREHOUSE:
        raise DomainError("Reorder rules are for warehouses; stores replenish by transfer", code="not_a_warehouse")
    if order_up_to <= reorder_point:
        raise DomainError("order_up_to must be above the reorder point", code="invalid_rule")
    with transaction.atomic():
        rule, _ = ReorderRule.objects.update_or_create(
            location=location,
            product=product,
            defaults={
                "reorder_point": reorder_point,
                "order_up_to": order_up_to,
                "active": True,
                "updated_at": timezone.now(),
            },
        )
    return rule
