"""Return reads, and the read-only queries against orders that returns need (shipped and returned quantities,
the customer's history for the scorecard)."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.urls import NoReverseMatch, reverse

from apps.core.errors import NotFound
from apps.orders.models import Order, OrderHistory, OrderLine
from apps.orders.selectors import order_id_from_number
from apps.returns.models import Return, ReturnHistory, ReturnLine
from apps.returns.states import COUNTS_AGAINST_ORDER, RETURNABLE_ORDER_STATUSES


def returned_quantities(*, order_id: int, exclude_return_id: int | None = None) -> dict[int, int]:
    """product_id → units on non-rejected returns of the order."""
    qs = ReturnLine.objects.filter(ret__order_id=order_id, ret__status__in=COUNTS_AGAINST_ORDER)
    if exclude_return_id is not None:
        qs = qs.exclude(ret_id=exclude_return_id)
    return {row["product_id"]: row["n"] for row in qs.values("product_id").annotate(n=Sum("quantity"))}


def shipped_lines(*, order: Order) -> list[OrderLine]:
    """The order's lines; all of them left with the order (orders ship or are collected whole)."""
    return list(OrderLine.objects.filter(order=order).select_related("product").order_by("line_no"))


def returnable_quantities(*, order: Order) -> dict[str, dict[str, Any]]:
    """sku → {product, line, shipped, returned, returnable, unit_price} (nothing for an order not handed over)."""
    if order.status not in RETURNABLE_ORDER_STATUSES:
        return {}
    returned = returned_quantities(order_id=order.pk)
    out: dict[str, dict[str, Any]] = {}
    for line in shipped_lines(order=order):
        row = out.setdefault(
            line.product.sku,
            {"product": line.product, "line": line, "shipped": 0, "unit_price": line.unit_price},
        )
        row["shipped"] += line.quantity
    for row in out.values():
        row["returned"] = returned.get(row["product"].pk, 0)
        row["returnable"] = max(row["shipped"] - row["returned"], 0)
    return out


def order_handed_over_at(*, order: Order) -> datetime:
    at = OrderHistory.objects.filter(order=order, to_status__in=("shipped", "delivered", "picked_up")).aggregate(
        at=Max("at")
    )["at"]
    return at or order.updated_at


def risk_inputs(*, order: Order, channel: str, product_ids: Sequence[int], now: datetime) -> dict[str, Any]:
    """Everything the scorecard looks at, as plain JSON values (stored on the return)."""
    email = order.customer_email
    customer_orders = Order.objects.filter(customer_email__iexact=email, status__in=RETURNABLE_ORDER_STATUSES)
    shipped = OrderLine.objects.filter(order__in=customer_orders).aggregate(n=Sum("quantity"))["n"] or 0
    earlier = ReturnLine.objects.filter(ret__customer_email__iexact=email, ret__status__in=COUNTS_AGAINST_ORDER)
    returned = earlier.aggregate(n=Sum("quantity"))["n"] or 0
    repeat = earlier.filter(product_id__in=list(product_ids)).values("ret_id").distinct().count()
    handed_over = order_handed_over_at(order=order)
    return {
        "customer_email": email.lower(),
        "customer_orders": customer_orders.count(),
        "customer_units_shipped": shipped,
        "customer_units_returned": returned,
        "order_value": str(order.total),
        "days_since_handover": max((now - handed_over).days, 0),
        "window_days": settings.RETURN_WINDOW_DAYS,
        "channel": channel,
        "repeat_sku_returns": repeat,
    }


def return_list(
    *,
    status: Sequence[str] | None = None,
    order_id: int | None = None,
    search: str | None = None,
    location_ids: Sequence[int] | None = None,
) -> QuerySet[Return]:
    qs = Return.objects.select_related("order", "location", "decided_by")
    if status:
        qs = qs.filter(status__in=list(status))
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if search:
        oid = order_id_from_number(search)
        rid = search.strip().upper().removeprefix("RMA-")
        from django.db.models import Q

        q = Q(customer_email__iexact=search.strip()) | Q(order__external_id=search.strip())
        if oid is not None:
            q |= Q(order_id=oid)
        if rid.isdigit() and len(rid) <= 18:
            q |= Q(pk=int(rid))
        qs = qs.filter(q)
    if location_ids is not None:
        qs = _scoped(qs, location_ids)
    return qs.order_by("-created_at", "-id")


def return_get(*, return_id: int, location_ids: Sequence[int] | None = None) -> Return:
    qs = Return.objects.select_related("order", "location", "decided_by").filter(pk=return_id)
    if location_ids is not None:
        qs = _scoped(qs, location_ids)
    ret = qs.first()
    if ret is None:
        raise NotFound(f"Return {return_id} does not exist")
    return ret


def _scoped(qs: QuerySet[Return], location_ids: Sequence[int]) -> QuerySet[Return]:
    """A scoped user sees returns at their locations, and returns no location has taken yet (any store may
    receive a web or marketplace return)."""
    from django.db.models import Q

    return qs.filter(Q(location_id__in=list(location_ids)) | Q(location__isnull=True))


def returns_with_lines(returns: Sequence[Return]) -> Sequence[Return]:
    """Attach lines (with products and inspections) to each return: two queries in all."""
    if not returns:
        return returns
    by_ret: dict[int, list[ReturnLine]] = defaultdict(list)
    lines = ReturnLine.objects.filter(ret_id__in=[r.pk for r in returns]).select_related("product")
    for line in lines.prefetch_related("inspections").order_by("ret_id", "id"):
        by_ret[line.ret_id].append(line)
    for ret in returns:
        ret._prefetched_lines = by_ret[ret.pk]  # type: ignore[attr-defined]
    return returns


def return_history(*, ret: Return) -> QuerySet[ReturnHistory]:
    return ReturnHistory.objects.filter(ret=ret).select_related("actor").order_by("at", "id")


def return_approval(*, ret: Return) -> Any:
    """The refund's approval request, if one was started."""
    from apps.approvals.models import ApprovalRequest

    return (
        ApprovalRequest.objects.filter(subject_type="returns.refund", subject_id=str(ret.pk))
        .order_by("-created")
        .first()
    )


def order_find(*, query: str, location_ids: Sequence[int] | None = None) -> list[Order]:
    """Orders a return desk may take back, by number, external id or customer e-mail (newest first)."""
    from django.db.models import Q

    query = query.strip()
    if not query:
        return []
    q = Q(external_id=query) | Q(customer_email__iexact=query)
    oid = order_id_from_number(query)
    if oid is not None:
        q |= Q(pk=oid)
    return list(Order.objects.filter(q, status__in=RETURNABLE_ORDER_STATUSES).order_by("-created_at", "-id")[:20])


def return_refund_describe(subject_id: str):
    from apps.approvals.registry import SubjectDescription

    ret = Return.objects.select_related("order").filter(pk=int(subject_id)).first() if subject_id.isdigit() else None
    if ret is None:
        return None
    try:
        url = reverse("returns:returns:detail", kwargs={"pk": ret.pk})
    except NoReverseMatch:
        url = ""
    returns_with_lines([ret])
    return SubjectDescription(
        title=f"Refund of {ret.number} ({ret.order.number})",
        url=url,
        facts=[
            ("Customer", ret.customer_email),
            ("Reason", ret.get_reason_display()),
            ("Risk", f"{ret.risk_score} ({ret.get_risk_band_display()}, scorecard {ret.risk_version})"),
            ("Goods", f"{ret.refund_goods} {ret.currency}"),
            ("Restocking fee", f"{ret.restocking_fee} {ret.currency}"),
            ("Shipping refund", f"{ret.refund_shipping} {ret.currency}"),
            ("Refund", f"{ret.refund_amount} {ret.currency}"),
        ],
        columns=["SKU", "Quantity", "Unit price"],
        rows=[[ln.product.sku, str(ln.quantity), str(ln.unit_price)] for ln in ret._prefetched_lines],  # type: ignore[attr-defined]
    )
