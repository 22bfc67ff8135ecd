"""Staff UI for orders: a filtered list, a detail page, and one POST per transition (the API's services)."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format
from django.views import View
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_location_ids
from apps.catalog.models import Channel
from apps.catalog.selectors import location_list
from apps.core.errors import DomainError, NotFound
from apps.core.ui_links import ledger_entries_url
from apps.orders import selectors, services
from apps.orders.models import Order
from apps.orders.states import OrderStatus

TRANSITION_PERMISSION = "orders.transition_order"

ACTION_LABELS = {
    "pick": "Pick",
    "ship": "Ship",
    "mark-ready": "Mark ready",
    "collect": "Collect",
    "deliver": "Deliver",
    "release": "Release",
    "close": "Close",
    "cancel": "Cancel order",
}


def _day_start(day: date | None, *, days_after: int = 0) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=days_after), time.min))


class OrderFilter(django_filters.FilterSet):
    """The filter drawer's form; the rows always come from selectors.order_list."""

    search = django_filters.CharFilter(label="Number, external id or email")
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    location = django_filters.ChoiceFilter(
        choices=lambda: [(loc.code, f"{loc.code} {loc.name}") for loc in location_list()],
        label="Location (pickup or allocated)",
    )
    created_from = django_filters.DateFilter(label="Created from")
    created_to = django_filters.DateFilter(label="Created to (inclusive)")

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Order]) -> QuerySet[Order]:
        data = self.form.cleaned_data
        qs = selectors.order_list(
            status=data.get("status") or None,
            channel=data.get("channel") or None,
            location=data.get("location") or None,
            created_after=_day_start(data.get("created_from")),
            created_before=_day_start(data.get("created_to"), days_after=1),
            search=(data.get("search") or self.request.GET.get("_search", "")).strip() or None,
            location_ids=user_location_ids(self.request.user),
        )
        # keep a column sort chosen in the table header
        return qs.order_by(*queryset.query.order_by) if queryset.query.order_by else qs


class OrderListView(ListModelView):
    model = Order
    filterset_class = OrderFilter
    columns = ("number", "created", "channel", "customer_email", "fulfillment_method", "status", "total")
    object_link_columns = ("number",)
    search_fields = ()  # shows the toolbar search box; OrderFilter applies the term through the selector
    paginate_by = 25
    template_name = "orders/order_list.html"

    def number(self, order: Order) -> str:
        return order.number

    number.short_description = "Order"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, order: Order) -> str:
        return date_format(timezone.localtime(order.created_at), "Y-m-d H:i")

    created.short_description = "Created"  # type: ignore[attr-defined]
    created.orderby_column = "created_at"  # type: ignore[attr-defined]

    @viewprop
    def queryset(self) -> QuerySet[Order]:
        return selectors.order_list(location_ids=user_location_ids(self.request.user))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["status_choices"] = OrderStatus.choices
        context["selected_statuses"] = self.request.GET.getlist("status")
        return context


class TransitionForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)
    carrier = forms.CharField(max_length=60, required=False)
    tracking_number = forms.CharField(max_length=100, required=False)

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action == "cancel":
            self.fields["reason"].required = True

    def service_kwargs(self) -> dict[str, str]:
        kwargs = {"reason": self.cleaned_data["reason"]}
        if self.action == "ship":
            kwargs.update(carrier=self.cleaned_data["carrier"], tracking_number=self.cleaned_data["tracking_number"])
        return kwargs


class OrderDetailView(TemplateView):
    """Header, lines with their allocations, history, and the buttons this user may press now."""

    template_name = "orders/order_detail.html"
    viewset: Any = None  # the OrderViewset this view is mounted in (apps.orders.ui)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            order = selectors.order_get(order_id=kwargs["pk"], location_ids=user_location_ids(self.request.user))
        except NotFound:
            raise Http404("No such order")
        selectors.orders_with_lines([order])
        may_transition = self.request.user.has_perm(TRANSITION_PERMISSION)
        actions = selectors.order_actions_available(order=order) if may_transition else []
        label = dict(OrderStatus.choices)
        return {
            **super().get_context_data(**kwargs),
            "order": order,
            "list_url": self.viewset.reverse("index"),
            "ledger_url": ledger_entries_url(self.request.user, source_type="orders.order", source_id=order.pk),
            "lines": [
                {"line": line, "allocations": line._allocations}
                for line in order._prefetched_lines  # type: ignore[attr-defined]
            ],
            "history": [
                {"entry": e, "from": label.get(e.from_status, e.from_status), "to": label.get(e.to_status, e.to_status)}
                for e in selectors.order_history(order_id=order.pk)
            ],
            "actions": [
                {
                    "name": action,
                    "label": ACTION_LABELS[action],
                    "url": self.viewset.reverse("transition", args=[order.pk, action]),
                }
                for action in actions
            ],
        }


class OrderTransitionView(View):
    """POST only: run services.TRANSITIONS[action] exactly as the API does; a refusal becomes a message."""

    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if not request.user.has_perm(TRANSITION_PERMISSION):
            raise PermissionDenied
        if action not in services.TRANSITIONS:
            raise Http404("Unknown action")
        try:
            selectors.order_get(order_id=pk, location_ids=user_location_ids(request.user))
        except NotFound:
            raise Http404("No such order")
        detail_url = self.viewset.reverse("detail", args=[pk])
        form = TransitionForm(request.POST, action=action)
        if not form.is_valid():
            errors = "; ".join(f"{field}: {' '.join(str(e) for e in errs)}" for field, errs in form.errors.items())
            messages.error(request, f"{ACTION_LABELS[action]} refused: {errors}")
            return HttpResponseRedirect(detail_url)
        try:
            order = services.TRANSITIONS[action](order_id=pk, actor=request.user, **form.service_kwargs())
        except NotFound:
            raise Http404("No such order")
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"Order {order.number} is now {order.get_status_display().lower()}.")
        return HttpResponseRedirect(detail_url)
