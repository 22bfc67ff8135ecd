"""Staff UI for procurement: purchase orders, replenishment, supplier invoices and suppliers.

Reads go through apps.suppliers.selectors, writes through the same services as the API. A business
rule that says no (DomainError and its InvalidTransition / PermissionDenied) becomes a message on the
page, never a 500. Store managers see (and receive) only the orders of their own locations.
"""

from typing import Any

import django_filters
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_can_see_location, user_location_ids
from apps.approvals import selectors as approval_selectors
from apps.catalog.selectors import location_get_by_code
from apps.core.errors import DomainError, NotFound
from apps.stock.selectors import stock_available_by
from apps.suppliers import selectors, services
from apps.suppliers.forms import (
    DateRangeForm,
    PurchaseOrderForm,
    ReceiveForm,
    ReorderRuleForm,
    SupplierInvoiceForm,
    location_choices,
    supplier_choices,
)
from apps.suppliers.models import PurchaseOrder, ReorderRule, Supplier, SupplierInvoice
from apps.suppliers.states import CANCELLABLE, RECEIVABLE, InvoiceStatus, MatchResult, PurchaseOrderStatus

S = PurchaseOrderStatus
I = InvoiceStatus  # noqa: E741
VIEW_PO = "suppliers.view_purchaseorder"
ADD_PO = "suppliers.add_purchaseorder"
TRANSITION_PO = "suppliers.transition_purchaseorder"
RECEIVE_PO = "suppliers.receive_purchaseorder"
ADD_INVOICE = "suppliers.add_supplierinvoice"
HANDLE_INVOICE = "suppliers.accept_invoice_variance"
SET_RULE = "suppliers.change_reorderrule"


def _keep_sort(qs: QuerySet, requested: QuerySet) -> QuerySet:
    """Apply a column sort chosen in the table header to the selector's rows."""
    return qs.order_by(*requested.query.order_by) if requested.query.order_by else qs


def _in_scope(qs: QuerySet, user: Any, field: str = "location_id") -> QuerySet:
    scope = user_location_ids(user)
    return qs if scope is None else qs.filter(**{f"{field}__in": scope})


def _history(entries: Any, choices: list[tuple[str, str]]) -> list[dict[str, Any]]:
    label = dict(choices)
    return [
        {"entry": e, "from": label.get(e.from_status, e.from_status), "to": label.get(e.to_status, e.to_status)}
        for e in entries
    ]


def _approval_context(subject_type: str, subject_id: int, user: Any) -> dict[str, Any]:
    """The approval request of a subject, its open task and its trail, for a detail page."""
    request = approval_selectors.approval_requests_for_subjects(
        subject_type=subject_type, subject_ids=[subject_id]
    ).get(str(subject_id))
    if request is None:
        return {"approval": None}
    task = approval_selectors.approval_request_open_task(request=request)
    may_open = user.has_perm(approval_selectors.VIEW_ALL_PERMISSION)
    return {
        "approval": request,
        "approval_task": task,
        "approval_task_url": reverse("approvals:task", args=[task.pk]) if task and may_open else "",
        "approval_trail": approval_selectors.approval_request_trail(request_id=request.pk),
    }


def _incident_url(incident_id: int | None) -> str:
    if not incident_id:
        return ""
    try:
        return reverse("exceptions:incident:detail", args=[incident_id])
    except NoReverseMatch:
        return ""


# --- purchase orders -----------------------------------------------------------------------------
OPEN_PO = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SENT, S.PARTIALLY_RECEIVED)
PO_STATUS_CHOICES = [(",".join(OPEN_PO), "Open (any)"), (",".join(RECEIVABLE), "To receive"), *S.choices]


class PurchaseOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PO_STATUS_CHOICES)
    supplier = django_filters.ChoiceFilter(choices=supplier_choices)
    location = django_filters.ChoiceFilter(choices=lambda: location_choices(None), label="Deliver to")

    class Meta:
        model = PurchaseOrder
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.request is not None:  # a store manager picks among their own locations only
            scope = user_location_ids(self.request.user)
            self.filters["location"].extra["choices"] = lambda: location_choices(scope)

    def filter_queryset(self, queryset: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
        data = self.form.cleaned_data
        qs = selectors.purchase_order_list(status=data.get("status") or "")
        if data.get("supplier"):
            qs = qs.filter(supplier__code=data["supplier"])
        if data.get("location"):
            qs = qs.filter(location__code=data["location"])
        return _keep_sort(_in_scope(qs, self.request.user), queryset)


class PurchaseOrderListView(ListModelView):
    model = PurchaseOrder
    filterset_class = PurchaseOrderFilter
    columns = ("number", "order_date", "supplier_code", "location_code", "amount", "amount_company", "status")
    object_link_columns = ("number",)
    paginate_by = 50
    template_name = "suppliers/purchaseorder_list.html"

    @viewprop
    def queryset(self) -> QuerySet[PurchaseOrder]:
        return _in_scope(selectors.purchase_order_list(), self.request.user)

    def number(self, po: PurchaseOrder) -> str:
        return po.number + (" (proposed)" if po.proposed else "")

    number.short_description = "Purchase order"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def supplier_code(self, po: PurchaseOrder) -> str:
        return f"{po.supplier.code} {po.supplier.name}"

    supplier_code.short_description = "Supplier"  # type: ignore[attr-defined]

    def location_code(self, po: PurchaseOrder) -> str:
        return po.location.code

    location_code.short_description = "Deliver to"  # type: ignore[attr-defined]

    def amount(self, po: PurchaseOrder) -> str:
        return f"{po.total} {po.currency}"

    amount.short_description = "Total"  # type: ignore[attr-defined]
    amount.column_type = "numeric"  # type: ignore[attr-defined]
    amount.orderby_column = "total"  # type: ignore[attr-defined]

    def amount_company(self, po: PurchaseOrder) -> str:
        return f"{po.total_company} {settings.COMPANY_CURRENCY}"

    amount_company.short_description = f"In {settings.COMPANY_CURRENCY}"  # type: ignore[attr-defined]
    amount_company.column_type = "numeric"  # type: ignore[attr-defined]
    amount_company.orderby_column = "total_company"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm(ADD_PO)
        context["add_url"] = self.viewset.reverse("add")
        return context


def _po_for(request: HttpRequest, pk: int) -> PurchaseOrder:
    """The order if this user may see it (view permission and, for store managers, their location)."""
    if not request.user.has_perm(VIEW_PO):
        raise PermissionDenied
    try:
        po = selectors.purchase_order_get(po_id=pk)
    except NotFound:
        raise Http404("No such purchase order")
    if not user_can_see_location(request.user, po.location_id):
        raise Http404("No such purchase order")
    return po


def _submitted_by(po: PurchaseOrder) -> int | None:
    """Who asked for the pending approval of this order (the user who submitted it)."""
    return (
        po.history.filter(to_status=S.PENDING_APPROVAL)
        .order_by("-at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


def _po_actions(po: PurchaseOrder, user: Any) -> list[tuple[str, str]]:
    if not user.has_perm(TRANSITION_PO):
        return []
    possible = {
        "submit": po.status == S.DRAFT,
        # only the requester withdraws (the approval engine refuses anyone else but approval managers)
        "withdraw": po.status == S.PENDING_APPROVAL and _submitted_by(po) == user.pk,
        "send": po.status == S.APPROVED,
        "close": po.status in (S.PARTIALLY_RECEIVED, S.RECEIVED),
        "cancel": po.status in CANCELLABLE,
    }
    titles = {
        "submit": "Submit",
        "withdraw": "Withdraw from approval",
        "send": "Send to supplier",
        "close": "Close",
        "cancel": "Cancel order",
    }
    return [(name, titles[name]) for name, ok in possible.items() if ok]


def _may_receive(po: PurchaseOrder, user: Any) -> bool:
    return po.status in RECEIVABLE and user.has_perm(RECEIVE_PO) and user_can_see_location(user, po.location_id)


class PurchaseOrderDetailView(TemplateView):
    """Header, lines (ordered / received / invoiced / open), receipts, history, the approval trail, the
    actions this user may take now and, while goods are expected, the receive form."""

    template_name = "suppliers/purchaseorder_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        po = kwargs.get("po") or _po_for(self.request, kwargs["pk"])
        user = self.request.user
        lines = list(po.lines.all())
        may_receive = _may_receive(po, user)
        receive_form = kwargs.get("receive_form") or (ReceiveForm(lines=lines) if may_receive else None)
        sku_of = {ln.pk: ln.product.sku for ln in lines}
        receipts = [
            {
                "receipt": r,
                "lines": [(sku_of.get(g.po_line_id, "?"), g.quantity, g.landed_unit_cost) for g in r.lines.all()],
                "units": sum(g.quantity for g in r.lines.all()),
            }
            for r in po.receipts.all()
        ]
        return {
            **super().get_context_data(**kwargs),
            "po": po,
            "lines": lines,
            "totals": {
                "ordered": sum(ln.quantity for ln in lines),
                "received": sum(ln.received_quantity for ln in lines),
                "invoiced": sum(ln.invoiced_quantity for ln in lines),
                "open": sum(ln.open_quantity for ln in lines),
            },
            "receipts": receipts,
            "history": _history(po.history.all(), S.choices),
            "actions": [
                {"name": name, "title": title, "url": self.viewset.reverse("action", args=[po.pk, name])}
                for name, title in _po_actions(po, user)
            ],
            "receive_form": receive_form if may_receive else None,
            "receive_url": self.viewset.reverse("receive", args=[po.pk]),
            "print_url": self.viewset.reverse("print", args=[po.pk]),
            "list_url": self.viewset.reverse("index"),
            "company_currency": settings.COMPANY_CURRENCY,
            **_approval_context(services.SUBJECT_PURCHASE_ORDER, po.pk, user),
        }


class PurchaseOrderReceiveView(PurchaseOrderDetailView):
    """POST the receive form: a goods receipt through purchase_order_receive; bad input re-renders the page."""

    http_method_names = ["get", "post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        po = _po_for(request, pk)
        if not (request.user.has_perm(RECEIVE_PO) and user_can_see_location(request.user, po.location_id)):
            raise PermissionDenied
        form = ReceiveForm(request.POST, lines=list(po.lines.all()))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(po=po, pk=pk, receive_form=form), status=200)
        try:
            receipt = services.purchase_order_receive(
                po_id=po.pk, lines=form.lines, actor=request.user, reference=form.cleaned_data["reference"]
            )
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            po.refresh_from_db(fields=["status"])
            units = sum(ln.quantity for ln in form.lines)
            messages.success(
                request,
                f"GR-{receipt.pk:06d}: {units} unit(s) received at {po.location.code}; "
                f"{po.number} is {po.get_status_display().lower()}.",
            )
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))


class PurchaseOrderActionView(View):
    """POST only: submit, withdraw (reason), send, cancel (reason), close (reason)."""

    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in ("submit", "withdraw", "send", "cancel", "close"):
            raise Http404("Unknown action")
        if not request.user.has_perm(TRANSITION_PO):
            raise PermissionDenied
        po = _po_for(request, pk)
        reason = request.POST.get("reason", "").strip()[:500]
        try:
            if action == "submit":
                po = services.purchase_order_submit(po_id=po.pk, actor=request.user)
            elif action == "withdraw":
                po = services.purchase_order_withdraw(po_id=po.pk, actor=request.user, reason=reason)
            elif action == "send":
                po = services.purchase_order_send(po_id=po.pk, actor=request.user)
            elif action == "cancel":
                po = services.purchase_order_cancel(po_id=po.pk, actor=request.user, reason=reason)
            else:
                po = services.purchase_order_close(po_id=po.pk, actor=request.user, reason=reason)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            if action == "submit" and po.status == S.PENDING_APPROVAL:
                messages.success(
                    request,
                    f"{po.number} ({po.total_company} {settings.COMPANY_CURRENCY}) needs "
                    f"{po.approval_levels} approval level(s); send it once approved.",
                )
            elif action == "send":
                messages.success(request, f"{po.number} is sent; expected on {po.expected_date.isoformat()}.")
            else:
                messages.success(request, f"{po.number} is {po.get_status_display().lower()}.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))


class PurchaseOrderCreateView(TemplateView):
    template_name = "suppliers/purchaseorder_form.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(ADD_PO):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form(self, data: Any = None) -> PurchaseOrderForm:
        return PurchaseOrderForm(data, location_ids=user_location_ids(self.request.user))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or self.form(),
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        supplier = selectors.supplier_list(active=True).filter(code=form.cleaned_data["supplier"]).first()
        location = location_get_by_code(form.cleaned_data["location"])
        if supplier is None or location is None or not user_can_see_location(request.user, location.pk):
            raise PermissionDenied
        try:
            po = services.purchase_order_create(
                supplier=supplier,
                location=location,
                lines=form.lines,
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            f"{po.number} is drafted: {po.total} {po.currency} ({po.total_company} {settings.COMPANY_CURRENCY}). "
            "Submit it for approval.",
        )
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[po.pk]))


class PurchaseOrderPrintView(TemplateView):
    """The order as the supplier gets it: a plain page with print CSS (print it or save it as PDF)."""

    template_name = "suppliers/purchaseorder_print.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        po = _po_for(self.request, kwargs["pk"])
        lines = list(po.lines.all())
        return {
            **super().get_context_data(**kwargs),
            "po": po,
            "lines": lines,
            "units": sum(ln.quantity for ln in lines),
            "company_currency": settings.COMPANY_CURRENCY,
            "foreign": po.currency != settings.COMPANY_CURRENCY,
            # An order not (yet) approved is printed for review only, and says so.
            "not_an_order": po.status in (S.DRAFT, S.PENDING_APPROVAL, S.REJECTED, S.CANCELLED),
            "detail_url": self.viewset.reverse("detail", args=[po.pk]),
            "printed_at": timezone.localtime(),
        }


# --- replenishment -------------------------------------------------------------------------------
class ReorderRuleListView(ListModelView):
    model = ReorderRule
    columns = ("location_code", "sku", "product_name", "reorder_point", "order_up_to", "available", "on_order")
    object_link_columns: tuple[str, ...] = ()
    paginate_by = 50
    template_name = "suppliers/reorderrule_list.html"

    @viewprop
    def queryset(self) -> QuerySet[ReorderRule]:
        return _in_scope(selectors.reorder_rule_list(), self.request.user)

    @viewprop
    def positions(self) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
        """(available, on order) by (location id, product id) over the rules in scope: two grouped queries."""
        scope = user_location_ids(self.request.user)
        rules = self.queryset.values_list("location_id", "product_id")
        location_ids = sorted({loc for loc, _ in rules})
        product_ids = sorted({p for _, p in rules})
        available = stock_available_by(location_ids=location_ids, product_ids=product_ids) if rules else {}
        on_order = selectors.on_order_by(location_ids=location_ids if scope is not None else None)
        return available, on_order

    def location_code(self, rule: ReorderRule) -> str:
        return rule.location.code

    location_code.short_description = "Warehouse"  # type: ignore[attr-defined]
    location_code.orderby_column = "location__code"  # type: ignore[attr-defined]

    def sku(self, rule: ReorderRule) -> str:
        return rule.product.sku

    sku.short_description = "SKU"  # type: ignore[attr-defined]
    sku.orderby_column = "product__sku"  # type: ignore[attr-defined]

    def product_name(self, rule: ReorderRule) -> str:
        return rule.product.name

    product_name.short_description = "Product"  # type: ignore[attr-defined]

    def available(self, rule: ReorderRule) -> int:
        return self.positions[0].get((rule.location_id, rule.product_id), 0)

    available.short_description = "Available"  # type: ignore[attr-defined]
    available.column_type = "numeric"  # type: ignore[attr-defined]

    def on_order(self, rule: ReorderRule) -> int:
        return self.positions[1].get((rule.location_id, rule.product_id), 0)

    on_order.short_description = "On order"  # type: ignore[attr-defined]
    on_order.column_type = "numeric"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_set"] = self.request.user.has_perm(SET_RULE)
        context["rule_url"] = self.viewset.reverse("rule")
        context["proposals_url"] = self.viewset.reverse("proposals")
        return context


class ReorderRuleSetView(TemplateView):
    """Set a warehouse's reorder point and order-up-to level for one SKU. With a warehouse and SKU in the
    query string it shows (and pre-fills) the suggestion from sales velocity and lead time."""

    template_name = "suppliers/reorderrule_form.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(SET_RULE):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        scope = user_location_ids(self.request.user)
        form = kwargs.get("form")
        suggestion = None
        if form is None:
            initial: dict[str, Any] = {
                "location": self.request.GET.get("location", ""),
                "sku": self.request.GET.get("sku", "").strip(),
            }
            probe = ReorderRuleForm({**initial, "reorder_point": 0, "order_up_to": 1}, location_ids=scope)
            location = location_get_by_code(initial["location"]) if initial["location"] else None
            if location is not None and initial["sku"] and probe.is_valid() and probe.product is not None:
                suggestion = selectors.reorder_rule_suggest(location=location, product=probe.product)
                current = selectors.reorder_rule_list().filter(location=location, product=probe.product).first()
                kwargs["current"] = current
                # Without any outflow in the lookback the suggestion is 0 → 1: keep what is set instead.
                keep = current if current is not None and not suggestion.daily_demand else suggestion
                initial["reorder_point"] = keep.reorder_point
                initial["order_up_to"] = keep.order_up_to
            form = ReorderRuleForm(initial=initial, location_ids=scope)
            if initial["location"] or initial["sku"]:
                kwargs["lookup_errors"] = [e for errors in probe.errors.values() for e in errors]
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "suggestion": suggestion,
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReorderRuleForm(request.POST, location_ids=user_location_ids(request.user))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        location = location_get_by_code(form.cleaned_data["location"])
        if location is None or form.product is None:
            raise PermissionDenied
        try:
            rule = services.reorder_rule_set(
                location=location,
                product=form.product,
                reorder_point=form.cleaned_data["reorder_point"],
                order_up_to=form.cleaned_data["order_up_to"],
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            f"{form.product.sku} at {location.code}: reorder at {rule.reorder_point}, order up to {rule.order_up_to}.",
        )
        return HttpResponseRedirect(self.viewset.reverse("index"))


class ProposedOrdersView(TemplateView):
    """Draft orders the replenishment job proposed (in the user's scope): run the job now, or submit
    the ticked drafts (each through purchase_order_submit, so each meets its spend band)."""

    template_name = "suppliers/proposals.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_PO):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _drafts(self) -> QuerySet[PurchaseOrder]:
        return _in_scope(selectors.purchase_order_list(status=S.DRAFT, proposed=True), self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        drafts = list(self._drafts().prefetch_related("lines__product")[:200])
        user = self.request.user
        return {
            **super().get_context_data(**kwargs),
            "drafts": drafts,
            "may_run": user.has_perm(ADD_PO),
            "may_submit": user.has_perm(TRANSITION_PO),
            "company_currency": settings.COMPANY_CURRENCY,
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        back = HttpResponseRedirect(self.viewset.reverse("proposals"))
        if request.POST.get("action") == "run":
            if not request.user.has_perm(ADD_PO):
                raise PermissionDenied
            try:
                created = services.purchase_orders_propose(actor=request.user)
            except DomainError as error:
                messages.error(request, error.detail)
                return back
            if created:
                numbers = ", ".join(p.number for p in created)
                messages.success(request, f"{len(created)} draft order(s) proposed: {numbers}.")
            else:
                messages.info(request, "Nothing to propose: every rule is above its reorder point or already on order.")
            return back
        if not request.user.has_perm(TRANSITION_PO):
            raise PermissionDenied
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit() and len(i) < 12]
        visible = list(self._drafts().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        done = []
        for po_id in visible:
            try:
                done.append(services.purchase_order_submit(po_id=po_id, actor=request.user))
            except DomainError as error:
                messages.error(request, f"PO-{po_id:06d}: {error.detail}")
        if done:
            summary = ", ".join(f"{po.number} {po.get_status_display().lower()}" for po in done)
            messages.success(request, f"{len(done)} order(s) submitted: {summary}.")
        elif not visible:
            messages.error(request, "Tick at least one proposed order.")
        return back


# --- supplier invoices ---------------------------------------------------------------------------
OPEN_INVOICE = (I.EXCEPTION, I.PENDING_ACCEPTANCE)
INVOICE_STATUS_CHOICES = [
    (",".join(OPEN_INVOICE), "Open exceptions"),
    (f"{I.MATCHED},{I.ACCEPTED}", "Payable"),
    *I.choices,
]


def _exceptions_first(qs: QuerySet[SupplierInvoice]) -> QuerySet[SupplierInvoice]:
    return qs.annotate(
        open_rank=Case(When(status__in=OPEN_INVOICE, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("open_rank", "-created_at", "-id")


class SupplierInvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=INVOICE_STATUS_CHOICES)
    supplier = django_filters.ChoiceFilter(choices=supplier_choices)

    class Meta:
        model = SupplierInvoice
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[SupplierInvoice]) -> QuerySet[SupplierInvoice]:
        data = self.form.cleaned_data
        qs = selectors.supplier_invoice_list(status=data.get("status") or "")
        if data.get("supplier"):
            qs = qs.filter(supplier__code=data["supplier"])
        return _keep_sort(_exceptions_first(qs), queryset)


class SupplierInvoiceListView(ListModelView):
    """Open exceptions first, then the rest, newest first."""

    model = SupplierInvoice
    filterset_class = SupplierInvoiceFilter
    columns = ("number", "supplier_code", "invoice_date", "amount", "status", "due_date")
    object_link_columns = ("number",)
    paginate_by = 50
    template_name = "suppliers/supplierinvoice_list.html"

    @viewprop
    def queryset(self) -> QuerySet[SupplierInvoice]:
        return _exceptions_first(selectors.supplier_invoice_list())

    def supplier_code(self, invoice: SupplierInvoice) -> str:
        return f"{invoice.supplier.code} {invoice.supplier.name}"

    supplier_code.short_description = "Supplier"  # type: ignore[attr-defined]

    def amount(self, invoice: SupplierInvoice) -> str:
        return f"{invoice.total} {invoice.currency}"

    amount.short_description = "Total"  # type: ignore[attr-defined]
    amount.column_type = "numeric"  # type: ignore[attr-defined]
    amount.orderby_column = "total"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm(ADD_INVOICE)
        context["add_url"] = self.viewset.reverse("add")
        context["open_url"] = "?status=" + ",".join(OPEN_INVOICE)
        return context


def _invoice_for(request: HttpRequest, pk: int) -> SupplierInvoice:
    if not request.user.has_perm("suppliers.view_supplierinvoice"):
        raise PermissionDenied
    try:
        return selectors.supplier_invoice_get(invoice_id=pk)
    except NotFound:
        raise Http404("No such invoice")


class SupplierInvoiceDetailView(TemplateView):
    """The match result per line, with its reason and variance highlighted, the history, the acceptance
    approval and the actions on an exception."""

    template_name = "suppliers/supplierinvoice_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        invoice = _invoice_for(self.request, kwargs["pk"])
        user = self.request.user
        lines = list(invoice.lines.all())
        may_handle = user.has_perm(HANDLE_INVOICE)
        actions = []
        if may_handle and invoice.status == I.EXCEPTION:
            actions = ["request-acceptance", "dispute"]
        elif may_handle and invoice.status == I.PENDING_ACCEPTANCE:
            actions = ["dispute"]
        po_url = {}
        for ln in lines:
            if ln.po_line is not None:
                po_url[ln.pk] = reverse("suppliers:purchase_orders:detail", args=[ln.po_line.purchase_order_id])
        return {
            **super().get_context_data(**kwargs),
            "invoice": invoice,
            "rows": [
                {"line": ln, "ok": ln.result == MatchResult.MATCHED, "po_url": po_url.get(ln.pk, "")} for ln in lines
            ],
            "exceptions": sum(1 for ln in lines if ln.result != MatchResult.MATCHED),
            "variance": sum((ln.variance for ln in lines), 0),
            "history": _history(invoice.history.all(), I.choices),
            "actions": {a: self.viewset.reverse("action", args=[invoice.pk, a]) for a in actions},
            "incident_url": _incident_url(invoice.incident_id),
            "list_url": self.viewset.reverse("index"),
            "company_currency": settings.COMPANY_CURRENCY,
            **_approval_context(services.SUBJECT_INVOICE_VARIANCE, invoice.pk, user),
        }


class SupplierInvoiceActionView(View):
    """POST only: request-acceptance (comment) asks finance to accept the variance; dispute (reason)."""

    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in ("request-acceptance", "dispute"):
            raise Http404("Unknown action")
        if not request.user.has_perm(HANDLE_INVOICE):
            raise PermissionDenied
        invoice = _invoice_for(request, pk)
        text = request.POST.get("text", "").strip()[:500]
        back = HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))
        if action == "dispute" and not text:
            messages.error(request, "Say why the invoice is disputed: the supplier will need the reason.")
            return back
        try:
            if action == "dispute":
                invoice = services.supplier_invoice_dispute(invoice_id=invoice.pk, actor=request.user, reason=text)
            else:
                invoice = services.supplier_invoice_request_acceptance(
                    invoice_id=invoice.pk, actor=request.user, comment=text
                )
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.")
        return back


class SupplierInvoiceCreateView(TemplateView):
    template_name = "suppliers/supplierinvoice_form.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(ADD_INVOICE):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.get("form") or SupplierInvoiceForm(initial={"invoice_date": timezone.localdate().isoformat()})
        return {**super().get_context_data(**kwargs), "form": form, "list_url": self.viewset.reverse("index")}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SupplierInvoiceForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        supplier = selectors.supplier_list(active=True).filter(code=form.cleaned_data["supplier"]).first()
        if supplier is None:
            raise PermissionDenied
        try:
            invoice = services.supplier_invoice_create(
                supplier=supplier,
                number=form.cleaned_data["number"],
                invoice_date=form.cleaned_data["invoice_date"],
                lines=form.lines,
                actor=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        if invoice.status == I.MATCHED:
            messages.success(request, f"Invoice {invoice.number} matched: ready to pay.")
        else:
            messages.warning(request, f"Invoice {invoice.number} does not match: see the lines below.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[invoice.pk]))


# --- suppliers -----------------------------------------------------------------------------------
class SupplierListView(ListModelView):
    model = Supplier
    columns = ("code", "name", "currency", "lead_time_days", "payment_terms_days", "active")
    object_link_columns = ("code",)
    paginate_by = 50

    @viewprop
    def queryset(self) -> QuerySet[Supplier]:
        return selectors.supplier_list()


class SupplierDetailView(TemplateView):
    """The supplier, what it sells (catalogue), its recent orders and its scorecard over a chosen period."""

    template_name = "suppliers/supplier_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            supplier = selectors.supplier_get(supplier_id=kwargs["pk"])
        except NotFound:
            raise Http404("No such supplier")
        period = DateRangeForm(self.request.GET or None)
        start, end = period.period(timezone.localdate())
        if not period.is_bound:
            period = DateRangeForm(initial={"start": start, "end": end})
        orders = _in_scope(selectors.purchase_order_list(supplier_id=supplier.pk), self.request.user)
        return {
            **super().get_context_data(**kwargs),
            "supplier": supplier,
            "catalogue": selectors.supplier_product_list(supplier_id=supplier.pk),
            "scorecard": selectors.supplier_scorecard(supplier=supplier, start=start, end=end),
            "period": period,
            "orders": list(orders[:10]),
            "company_currency": settings.COMPANY_CURRENCY,
            "list_url": self.viewset.reverse("index"),
        }
