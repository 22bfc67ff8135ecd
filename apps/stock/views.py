"""Staff UI for stock: levels by location, the movement ledger, adjustments and cycle counts.

Reads go through apps.stock.selectors; adjustments and counts are created through the same services
as the API.
"""

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_can_see_location, user_location_ids
from apps.approvals import selectors as approval_selectors
from apps.catalog.models import Location
from apps.catalog.selectors import location_get_by_code, location_list
from apps.core.errors import DomainError, NotFound
from apps.stock import selectors, services
from apps.stock.forms import AdjustmentForm, CountForm, TransferForm
from apps.stock.models import (
    TRANSFER_CANCELLABLE,
    AdjustmentReason,
    AdjustmentStatus,
    CycleCount,
    MovementKind,
    StockAdjustment,
    StockLevel,
    StockMovement,
    StockTransfer,
    TransferStatus,
)


def _location_choices() -> list[tuple[str, str]]:
    return [(loc.code, f"{loc.code} {loc.name}") for loc in location_list()]


def _keep_sort(qs: QuerySet, requested: QuerySet) -> QuerySet:
    """Apply a column sort chosen in the table header to the selector's rows."""
    return qs.order_by(*requested.query.order_by) if requested.query.order_by else qs


class StockLevelFilter(django_filters.FilterSet):
    location = django_filters.ChoiceFilter(choices=_location_choices)
    sku = django_filters.CharFilter(label="SKU")

    class Meta:
        model = StockLevel
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
        data = self.form.cleaned_data
        qs = selectors.stock_level_list(
            sku=(data.get("sku") or "").strip() or None,
            location=data.get("location") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockLevelListView(ListModelView):
    model = StockLevel
    filterset_class = StockLevelFilter
    columns = ("sku", "product_name", "location_code", "on_hand", "reserved", "available")
    object_link_columns: tuple[str, ...] = ()
    paginate_by = 50
    template_name = "stock/stocklevel_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockLevel]:
        return selectors.stock_level_list(location_ids=user_location_ids(self.request.user))

    def sku(self, level: StockLevel) -> str:
        return level.product.sku

    sku.short_description = "SKU"  # type: ignore[attr-defined]
    sku.orderby_column = "product__sku"  # type: ignore[attr-defined]

    def product_name(self, level: StockLevel) -> str:
        return level.product.name

    product_name.short_description = "Product"  # type: ignore[attr-defined]

    def location_code(self, level: StockLevel) -> str:
        return level.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]
    location_code.orderby_column = "location__code"  # type: ignore[attr-defined]

    def available(self, level: StockLevel) -> int:
        return level.available_qty  # type: ignore[attr-defined]

    available.short_description = "Available"  # type: ignore[attr-defined]
    available.column_type = "numeric"  # type: ignore[attr-defined]
    available.orderby_column = "available_qty"  # type: ignore[attr-defined]


class StockMovementFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(label="SKU")
    location = django_filters.ChoiceFilter(choices=_location_choices)
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices)

    class Meta:
        model = StockMovement
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockMovement]) -> QuerySet[StockMovement]:
        data = self.form.cleaned_data
        qs = selectors.stock_movement_list(
            sku=(data.get("sku") or "").strip() or None,
            location=data.get("location") or None,
            kind=data.get("kind") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockMovementListView(ListModelView):
    model = StockMovement
    filterset_class = StockMovementFilter
    columns = ("created_at", "sku", "location_code", "kind", "quantity", "balance_after", "reference", "actor_name")
    object_link_columns: tuple[str, ...] = ()
    paginate_by = 50
    template_name = "stock/stockmovement_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockMovement]:
        return selectors.stock_movement_list(location_ids=user_location_ids(self.request.user))

    def sku(self, movement: StockMovement) -> str:
        return movement.product.sku

    sku.short_description = "SKU"  # type: ignore[attr-defined]

    def location_code(self, movement: StockMovement) -> str:
        return movement.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]

    def actor_name(self, movement: StockMovement) -> str:
        return movement.actor.get_username() if movement.actor else "system"

    actor_name.short_description = "Actor"  # type: ignore[attr-defined]


# --- inventory control: adjustments and cycle counts ---------------------------------------------
class StockAdjustmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AdjustmentStatus.choices)
    reason = django_filters.ChoiceFilter(choices=AdjustmentReason.choices)
    location = django_filters.ChoiceFilter(choices=_location_choices)

    class Meta:
        model = StockAdjustment
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockAdjustment]) -> QuerySet[StockAdjustment]:
        data = self.form.cleaned_data
        qs = selectors.stock_adjustment_list(
            status=data.get("status") or None,
            reason=data.get("reason") or None,
            location=data.get("location") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockAdjustmentListView(ListModelView):
    model = StockAdjustment
    filterset_class = StockAdjustmentFilter
    columns = ("number", "created", "location_code", "reason", "value", "status", "requested")
    object_link_columns = ("number",)
    paginate_by = 50
    template_name = "stock/stockadjustment_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockAdjustment]:
        return selectors.stock_adjustment_list(location_ids=user_location_ids(self.request.user))

    def number(self, adjustment: StockAdjustment) -> str:
        return adjustment.number

    number.short_description = "Adjustment"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, adjustment: StockAdjustment) -> str:
        return date_format(timezone.localtime(adjustment.created_at), "Y-m-d H:i")

    created.short_description = "Created"  # type: ignore[attr-defined]
    created.orderby_column = "created_at"  # type: ignore[attr-defined]

    def location_code(self, adjustment: StockAdjustment) -> str:
        return adjustment.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]

    def requested(self, adjustment: StockAdjustment) -> str:
        return adjustment.requested_by.get_username()

    requested.short_description = "Requested by"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm("stock.add_stockadjustment")
        context["add_url"] = self.viewset.reverse("add")
        return context


def _approval_context(adjustment: StockAdjustment, user: Any) -> dict[str, Any]:
    """The approval request of an adjustment, its open task and its trail, for the detail page."""
    request = approval_selectors.approval_requests_for_subjects(
        subject_type=services.SUBJECT_ADJUSTMENT, subject_ids=[adjustment.pk]
    ).get(str(adjustment.pk))
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


class StockAdjustmentDetailView(TemplateView):
    """Header, lines, status history and the approval trail."""

    template_name = "stock/adjustment_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            adjustment = selectors.stock_adjustment_get(
                adjustment_id=kwargs["pk"], location_ids=user_location_ids(self.request.user)
            )
        except NotFound:
            raise Http404("No such adjustment")
        selectors.stock_adjustments_with_lines([adjustment])
        label = dict(AdjustmentStatus.choices)
        return {
            **super().get_context_data(**kwargs),
            "adjustment": adjustment,
            "lines": adjustment._prefetched_lines,  # type: ignore[attr-defined]
            "list_url": self.viewset.reverse("index"),
            "history": [
                {"entry": e, "from": label.get(e.from_status, e.from_status), "to": label.get(e.to_status, e.to_status)}
                for e in selectors.stock_adjustment_history(adjustment_id=adjustment.pk)
            ],
            **_approval_context(adjustment, self.request.user),
            "may_withdraw": adjustment.status == AdjustmentStatus.PENDING_APPROVAL
            and adjustment.requested_by_id == self.request.user.pk,
        }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Withdraw (the only action on this page): the service checks who may and from which status."""
        if not self.viewset.has_view_permission(request.user) or request.POST.get("action") != "withdraw":
            raise PermissionDenied
        try:
            selectors.stock_adjustment_get(adjustment_id=pk, location_ids=user_location_ids(request.user))
            done = services.stock_adjustment_withdraw(
                adjustment_id=pk, actor=request.user, reason=request.POST.get("reason", "")[:500]
            )
            messages.success(request, f"{done.number} is withdrawn.")
        except NotFound:
            raise Http404("No such adjustment")
        except DomainError as error:
            messages.error(request, error.detail)
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))


class _LinesCreateView(TemplateView):
    form_class: Any = None
    permission = ""
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        return self.form_class(data, location_ids=user_location_ids(self.request.user))

    def create(self, form: Any, location: Location) -> Any:  # pragma: no cover - each page creates its own
        raise NotImplementedError

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
        location = location_get_by_code(form.cleaned_data["location"])
        if location is None or not user_can_see_location(request.user, location.pk):
            raise PermissionDenied
        try:
            created = self.create(form, location)
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[created.pk]))


class StockAdjustmentCreateView(_LinesCreateView):
    template_name = "stock/adjustment_form.html"
    form_class = AdjustmentForm
    permission = "stock.add_stockadjustment"

    def create(self, form: AdjustmentForm, location: Any) -> StockAdjustment:
        adjustment = services.stock_adjustment_create(
            location=location,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            lines=form.line_inputs(),
            requested_by=self.request.user,
        )
        if adjustment.status == AdjustmentStatus.POSTED:
            messages.success(self.request, f"{adjustment.number} ({adjustment.value} {adjustment.currency}) is posted.")
        else:
            messages.success(
                self.request,
                f"{adjustment.number} ({adjustment.value} {adjustment.currency}) needs "
                f"{adjustment.approval_levels} approval level(s); it posts once approved.",
            )
        return adjustment


class CycleCountListView(ListModelView):
    model = CycleCount
    columns = ("number", "created", "location_code", "counted", "adjustment_number")
    object_link_columns = ("number",)
    paginate_by = 50
    template_name = "stock/cyclecount_list.html"

    @viewprop
    def queryset(self) -> QuerySet[CycleCount]:
        return selectors.stock_count_list(location_ids=user_location_ids(self.request.user))

    def number(self, count: CycleCount) -> str:
        return count.number

    number.short_description = "Count"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, count: CycleCount) -> str:
        return date_format(timezone.localtime(count.created_at), "Y-m-d H:i")

    created.short_description = "Counted"  # type: ignore[attr-defined]

    def location_code(self, count: CycleCount) -> str:
        return count.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]

    def counted(self, count: CycleCount) -> str:
        return count.counted_by.get_username()

    counted.short_description = "Counted by"  # type: ignore[attr-defined]

    def adjustment_number(self, count: CycleCount) -> str:
        adjustment = getattr(count, "adjustment", None)
        return f"{adjustment.number} ({adjustment.get_status_display().lower()})" if adjustment else "no variance"

    adjustment_number.short_description = "Adjustment"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm("stock.add_cyclecount")
        context["add_url"] = self.viewset.reverse("add")
        return context


class CycleCountDetailView(TemplateView):
    template_name = "stock/count_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            count = selectors.stock_count_get(count_id=kwargs["pk"], location_ids=user_location_ids(self.request.user))
        except NotFound:
            raise Http404("No such count")
        adjustment = getattr(count, "adjustment", None)
        return {
            **super().get_context_data(**kwargs),
            "count": count,
            "lines": selectors.stock_count_lines(count_id=count.pk),
            "adjustment": adjustment,
            "adjustment_url": reverse("stock:adjustments:detail", args=[adjustment.pk]) if adjustment else "",
            "list_url": self.viewset.reverse("index"),
        }


class CycleCountCreateView(_LinesCreateView):
    template_name = "stock/count_form.html"
    form_class = CountForm
    permission = "stock.add_cyclecount"

    def create(self, form: CountForm, location: Any) -> CycleCount:
        count = services.stock_count_submit(
            location=location, lines=form.line_inputs(), note=form.cleaned_data["note"], counted_by=self.request.user
        )
        adjustment = getattr(count, "adjustment", None)
        if adjustment is None:
            messages.success(self.request, f"{count.number}: everything matched the books.")
        else:
            messages.success(
                self.request,
                f"{count.number}: variances became {adjustment.number} ({adjustment.value} {adjustment.currency}), "
                f"{adjustment.get_status_display().lower()}.",
            )
        return count


# --- transfers between locations and store replenishment -----------------------------------------
class StockTransferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TransferStatus.choices)
    location = django_filters.ChoiceFilter(choices=_location_choices, label="Source or destination")

    class Meta:
        model = StockTransfer
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockTransfer]) -> QuerySet[StockTransfer]:
        data = self.form.cleaned_data
        qs = selectors.stock_transfer_list(
            status=data.get("status") or None,
            location=data.get("location") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockTransferListView(ListModelView):
    model = StockTransfer
    filterset_class = StockTransferFilter
    columns = ("number", "created", "source_code", "destination_code", "value", "status", "proposed")
    object_link_columns = ("number",)
    paginate_by = 50
    template_name = "stock/transfer_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockTransfer]:
        return selectors.stock_transfer_list(location_ids=user_location_ids(self.request.user))

    def number(self, transfer: StockTransfer) -> str:
        return transfer.number

    number.short_description = "Transfer"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, transfer: StockTransfer) -> str:
        return date_format(timezone.localtime(transfer.created_at), "Y-m-d H:i")

    created.short_description = "Created"  # type: ignore[attr-defined]
    created.orderby_column = "created_at"  # type: ignore[attr-defined]

    def source_code(self, transfer: StockTransfer) -> str:
        return transfer.source.code

    source_code.short_description = "From"  # type: ignore[attr-defined]

    def destination_code(self, transfer: StockTransfer) -> str:
        return transfer.destination.code

    destination_code.short_description = "To"  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm("stock.add_stocktransfer")
        context["add_url"] = self.viewset.reverse("add")
        context["proposals_url"] = self.viewset.reverse("proposals")
        return context


# Which end of a transfer may run each action from the detail page (as in the API).
_TRANSFER_ACTIONS = {
    "approve": ("either", services.stock_transfer_submit, "Submit"),
    "pick": ("source", services.stock_transfer_pick, "Start picking"),
    "dispatch": ("source", services.stock_transfer_dispatch, "Dispatch"),
    "receive": ("destination", services.stock_transfer_receive, "Receive as dispatched"),
    "withdraw": ("either", services.stock_transfer_withdraw, "Withdraw from approval"),
    "cancel": ("either", services.stock_transfer_cancel, "Cancel"),
}
_ACTION_SOURCES = {
    "approve": (TransferStatus.REQUESTED,),
    "pick": (TransferStatus.APPROVED,),
    "dispatch": (TransferStatus.APPROVED, TransferStatus.PICKING),
    "receive": (TransferStatus.IN_TRANSIT,),
    "withdraw": (TransferStatus.PENDING_APPROVAL,),
    "cancel": TRANSFER_CANCELLABLE,
}


def _transfer_side_ok(user: Any, transfer: StockTransfer, side: str) -> bool:
    ends = {"source": [transfer.source_id], "destination": [transfer.destination_id]}.get(
        side, [transfer.source_id, transfer.destination_id]
    )
    return any(user_can_see_location(user, pk) for pk in ends)


class StockTransferDetailView(TemplateView):
    """Header, lines (with what is in transit), history, and the actions this user may take now."""

    template_name = "stock/transfer_detail.html"
    viewset: Any = None

    def _transfer(self, pk: int) -> StockTransfer:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            return selectors.stock_transfer_get(transfer_id=pk, location_ids=user_location_ids(self.request.user))
        except NotFound:
            raise Http404("No such transfer")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        transfer = self._transfer(kwargs["pk"])
        selectors.stock_transfers_with_lines([transfer])
        label = dict(TransferStatus.choices)
        user = self.request.user
        may_act = user.has_perm("stock.transition_transfer")
        actions = [
            (name, title)
            for name, (side, _, title) in _TRANSFER_ACTIONS.items()
            if may_act
            and transfer.status in _ACTION_SOURCES[name]
            and _transfer_side_ok(user, transfer, side)
            and (name != "withdraw" or transfer.requested_by_id == user.pk)  # only the requester withdraws
        ]
        return {
            **super().get_context_data(**kwargs),
            "transfer": transfer,
            "lines": transfer._prefetched_lines,  # type: ignore[attr-defined]
            "list_url": self.viewset.reverse("index"),
            "actions": actions,
            "history": [
                {"entry": e, "from": label.get(e.from_status, e.from_status), "to": label.get(e.to_status, e.to_status)}
                for e in selectors.stock_transfer_history(transfer_id=transfer.pk)
            ],
        }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        transfer = self._transfer(pk)
        action = request.POST.get("action", "")
        if action not in _TRANSFER_ACTIONS or not request.user.has_perm("stock.transition_transfer"):
            raise PermissionDenied
        side, service, _ = _TRANSFER_ACTIONS[action]
        if not _transfer_side_ok(request.user, transfer, side):
            raise PermissionDenied
        try:
            done = service(transfer_id=transfer.pk, actor=request.user)
            messages.success(request, f"{done.number} is {done.get_status_display().lower()}.")
        except DomainError as error:
            messages.error(request, error.detail)
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[transfer.pk]))


class StockTransferCreateView(_LinesCreateView):
    template_name = "stock/transfer_form.html"
    form_class = TransferForm
    permission = "stock.add_stocktransfer"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        source = location_get_by_code(form.cleaned_data["location"])
        destination = location_get_by_code(form.cleaned_data["destination"])
        if source is None or destination is None:
            raise PermissionDenied
        if not (user_can_see_location(request.user, source.pk) or user_can_see_location(request.user, destination.pk)):
            raise PermissionDenied
        try:
            transfer = services.stock_transfer_create(
                source=source,
                destination=destination,
                lines=form.line_inputs(),
                note=form.cleaned_data["note"],
                requested_by=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, f"{transfer.number} is requested; submit it to reserve the stock.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[transfer.pk]))


class ReplenishmentProposalListView(TemplateView):
    """Open replenishment proposals in the user's scope, accepted (submitted) in bulk."""

    template_name = "stock/replenishment_proposals.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm("stock.view_stocktransfer"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        proposals = list(
            selectors.stock_transfer_list(
                location_ids=user_location_ids(self.request.user), proposed=True, status=TransferStatus.REQUESTED
            )[:200]
        )
        selectors.stock_transfers_with_lines(proposals)
        return {
            **super().get_context_data(**kwargs),
            "proposals": [{"transfer": t, "lines": t._prefetched_lines} for t in proposals],  # type: ignore[attr-defined]
            "may_accept": self.request.user.has_perm("stock.transition_transfer"),
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("stock.transition_transfer"):
            raise PermissionDenied
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        visible = set(
            selectors.stock_transfer_list(location_ids=user_location_ids(request.user), proposed=True)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        results = services.stock_transfer_proposals_accept(
            transfer_ids=[i for i in ids if i in visible], actor=request.user
        )
        accepted = sum(1 for r in results if r["ok"])
        if accepted:
            messages.success(request, f"{accepted} proposal(s) accepted.")
        for r in results:
            if not r["ok"]:
                messages.error(request, f"TRF-{r['id']:06d}: {r['detail']}")
        return HttpResponseRedirect(self.viewset.reverse("proposals"))
