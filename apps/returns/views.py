"""Staff UI for returns: the store return desk, a list and a detail page; every write goes through services."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.formats import date_format
from django.views import View
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_location_ids
from apps.catalog.models import Location
from apps.core.errors import DomainError, NotFound
from apps.core.ui_links import ledger_entries_url
from apps.orders.models import Order
from apps.returns import selectors, services
from apps.returns.models import Return
from apps.returns.states import Disposition, ReturnReason, ReturnStatus

DESK_PERMISSION = "returns.add_return"
RECEIVE_PERMISSION = "returns.receive_return"


class ReturnListView(ListModelView):
    model = Return
    columns = ("number", "created", "order_number", "channel", "reason", "status", "risk_band", "risk_score")
    object_link_columns = ("number",)
    paginate_by = 25

    def number(self, ret: Return) -> str:
        return ret.number

    number.short_description = "Return"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, ret: Return) -> str:
        return date_format(timezone.localtime(ret.created_at), "Y-m-d H:i")

    created.short_description = "Created"  # type: ignore[attr-defined]
    created.orderby_column = "created_at"  # type: ignore[attr-defined]

    def order_number(self, ret: Return) -> str:
        return ret.order.number

    order_number.short_description = "Order"  # type: ignore[attr-defined]

    @viewprop
    def queryset(self) -> QuerySet[Return]:
        return selectors.return_list(location_ids=user_location_ids(self.request.user))


def _desk_locations(user) -> list[Location]:
    scope = user_location_ids(user)
    qs = Location.objects.filter(active=True).order_by("kind", "code")
    if scope is not None:
        qs = qs.filter(pk__in=scope)
    return list(qs)


class ReturnDeskView(TemplateView):
    """Find the order, pick lines and quantities, a reason and a disposition per line: the return is created,
    received at the desk's store and inspected in one go (it stops at review if the scorecard holds it)."""

    template_name = "returns/desk.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not (request.user.has_perm(DESK_PERMISSION) and request.user.has_perm(RECEIVE_PERMISSION)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        query = self.request.GET.get("q", "").strip()
        order = None
        rows: list[dict[str, Any]] = []
        if self.request.GET.get("order", "").isdigit():
            order = Order.objects.filter(pk=int(self.request.GET["order"])).first()
            if order is not None:
                rows = list(selectors.returnable_quantities(order=order).values())
        return {
            **super().get_context_data(**kwargs),
            "query": query,
            "found": selectors.order_find(query=query) if query and order is None else [],
            "order": order,
            "rows": rows,
            "reasons": ReturnReason.choices,
            "dispositions": Disposition.choices,
            "locations": _desk_locations(self.request.user),
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        order_id = request.POST.get("order", "")
        desk_url = self.viewset.reverse("desk")
        code = request.POST.get("location")
        location = next((loc for loc in _desk_locations(request.user) if loc.code == code), None)
        if not order_id.isdigit() or location is None:
            messages.error(request, "Choose an order and a location you work at.")
            return HttpResponseRedirect(desk_url)
        lines, inspections = [], []
        for key in request.POST:
            value = request.POST.get(key) or ""
            if not key.startswith("qty_") or not value.strip():
                continue
            sku = key.removeprefix("qty_")
            try:
                quantity = int(value)
            except ValueError:
                quantity = -1
            if quantity < 0:
                messages.error(request, f"Quantity for {sku} must be a whole number.")
                return HttpResponseRedirect(f"{desk_url}?order={order_id}")
            if quantity == 0:
                continue
            disposition = request.POST.get(f"disp_{sku}", Disposition.RESTOCK)
            lines.append(services.ReturnLineInput(sku=sku, quantity=quantity))
            inspections.append(services.InspectionInput(sku=sku, quantity=quantity, disposition=disposition))
        if not lines:
            messages.error(request, "Enter a quantity for at least one line.")
            return HttpResponseRedirect(f"{desk_url}?order={order_id}")
        try:
            ret = services.return_create(
                order_id=int(order_id),
                channel="store",
                reason=request.POST.get("reason", ""),
                lines=lines,
                note=request.POST.get("note", "")[:500],
                location=location,
                actor=request.user,
            )
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseRedirect(f"{desk_url}?order={order_id}")
        detail_url = self.viewset.reverse("detail", args=[ret.pk])
        if ret.status != ReturnStatus.AUTHORIZED:
            messages.warning(request, f"Return {ret.number} is held for review (risk band {ret.risk_band}).")
            return HttpResponseRedirect(detail_url)
        try:
            services.return_receive(return_id=ret.pk, location=location, actor=request.user)
            ret = services.return_inspect(return_id=ret.pk, lines=inspections, actor=request.user)
        except DomainError as error:
            messages.error(request, f"Return {ret.number} was created but not completed: {error.detail}")
            return HttpResponseRedirect(detail_url)
        messages.success(request, f"Return {ret.number} is {ret.get_status_display().lower()}.")
        return HttpResponseRedirect(detail_url)


class ReturnDetailView(TemplateView):
    template_name = "returns/return_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            ret = selectors.return_get(return_id=kwargs["pk"], location_ids=user_location_ids(self.request.user))
        except NotFound:
            raise Http404("No such return")
        selectors.returns_with_lines([ret])
        user = self.request.user
        actions = []
        if ret.status == ReturnStatus.PENDING_REVIEW and user.has_perm("returns.authorize_return"):
            actions += ["authorize", "reject"]
        if ret.status == ReturnStatus.REFUND_PENDING and user.has_perm("returns.confirm_refund"):
            actions.append("confirm-refund")
        if ret.status in (ReturnStatus.REFUNDED, ReturnStatus.INSPECTED) and user.has_perm("returns.confirm_refund"):
            if ret.status == ReturnStatus.REFUNDED or ret.refund_approval == "rejected":
                actions.append("close")
        return {
            **super().get_context_data(**kwargs),
            "ret": ret,
            "ledger_url": ledger_entries_url(self.request.user, source_type="returns.return", source_id=ret.pk),
            "lines": ret._prefetched_lines,  # type: ignore[attr-defined]
            "history": selectors.return_history(ret=ret),
            "approval": selectors.return_approval(ret=ret),
            "actions": [{"name": a, "url": self.viewset.reverse("action", args=[ret.pk, a])} for a in actions],
            "list_url": self.viewset.reverse("index"),
        }


class ReturnActionView(View):
    """POST only: authorize / reject (comment), confirm-refund (payment reference), close."""

    http_method_names = ["post"]
    viewset: Any = None
    PERMS = {
        "authorize": "returns.authorize_return",
        "reject": "returns.authorize_return",
        "confirm-refund": "returns.confirm_refund",
        "close": "returns.confirm_refund",
    }

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in self.PERMS:
            raise Http404("Unknown action")
        if not request.user.has_perm(self.PERMS[action]):
            raise PermissionDenied
        try:
            selectors.return_get(return_id=pk, location_ids=user_location_ids(request.user))
            text = request.POST.get("text", "")
            if action == "authorize":
                ret = services.return_authorize(return_id=pk, actor=request.user, comment=text)
            elif action == "reject":
                ret = services.return_reject(return_id=pk, actor=request.user, comment=text)
            elif action == "confirm-refund":
                ret = services.return_confirm_refund(return_id=pk, payment_reference=text, actor=request.user)
            else:
                ret = services.return_close(return_id=pk, actor=request.user)
        except NotFound:
            raise Http404("No such return")
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"Return {ret.number} is now {ret.get_status_display().lower()}.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))
