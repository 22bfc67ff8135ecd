"""Staff UI for the exception queue: a filtered list with aging buckets and bulk actions, a detail
page with history and action forms. Every write goes through apps.core.services, as in the API."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from django_fsm import can_proceed
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_location_ids
from apps.core import selectors, services
from apps.core.errors import DomainError, NotFound
from apps.core.models import (
    INCIDENT_OPEN,
    Incident,
    IncidentAction,
    IncidentStatus,
    OwnerTeam,
    Severity,
)

ACT_PERMISSION = services.ACT_PERMISSION
IN_QUEUE = [IncidentStatus.OPEN.value, IncidentStatus.ACKNOWLEDGED.value]
UNASSIGNED = "__none__"
BULK_SESSION_KEY = "incident_bulk_result"

ACTION_LABELS = {
    "assign": "Assign",
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "dismiss": "Dismiss",
    "reopen": "Reopen",
    "retry": "Retry",
}
ACTION_DONE = {
    "assign": "assigned",
    "acknowledge": "acknowledged",
    "resolve": "resolved",
    "dismiss": "dismissed",
    "reopen": "reopened",
    "retry": "retried",
}


def _day_start(day: date | None, *, days_after: int = 0) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=days_after), time.min))


def _age(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def _change_value(value: Any) -> Any:
    if value in (None, ""):
        return "—"
    when = parse_datetime(value) if isinstance(value, str) else None
    return date_format(timezone.localtime(when), "Y-m-d H:i") if when is not None else value


def _change_text(field: str, change: Any) -> str:
    if isinstance(change, list) and len(change) == 2:
        return f"{field.replace('_', ' ')}: {_change_value(change[0])} → {_change_value(change[1])}"
    return f"{field.replace('_', ' ')}: {change}"


class IncidentFilter(django_filters.FilterSet):
    """The filter drawer's form; the rows always come from selectors.incident_list."""

    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    kind = django_filters.ChoiceFilter(choices=[])
    owner_team = django_filters.MultipleChoiceFilter(choices=OwnerTeam.choices, label="Owner team")
    location = django_filters.ChoiceFilter(choices=[])
    channel = django_filters.ChoiceFilter(choices=[])
    assignee = django_filters.ChoiceFilter(choices=[])
    overdue = django_filters.ChoiceFilter(choices=[("yes", "Overdue"), ("no", "Not overdue")])
    age = django_filters.ChoiceFilter(choices=[(b.key, b.label) for b in selectors.AGING_BUCKETS], label="Age")
    created_from = django_filters.DateFilter(label="Created from")
    created_to = django_filters.DateFilter(label="Created to (inclusive)")

    class Meta:
        model = Incident
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = selectors.incident_filter_choices(location_ids=user_location_ids(self.request.user))
        for name in ("kind", "location", "channel"):
            self.filters[name].extra["choices"] = choices[name]
        self.filters["assignee"].extra["choices"] = [(UNASSIGNED, "Unassigned"), *choices["assignee"]]
        # the queue (open and acknowledged) is the default view, not a filter the user changed
        self.form.fields["status"].initial = IN_QUEUE

    def selector_kwargs(self) -> dict[str, Any]:
        self.form.is_valid()  # a stale or bad value drops that one filter, not the others
        data = getattr(self.form, "cleaned_data", {})
        assignee = data.get("assignee") or None
        overdue = data.get("overdue") or None
        return {
            "status": data.get("status") or None,
            "severity": data.get("severity") or None,
            "kind": [data["kind"]] if data.get("kind") else None,
            "owner_team": data.get("owner_team") or None,
            "location": data.get("location") or None,
            "channel": data.get("channel") or None,
            "assignee": assignee if assignee != UNASSIGNED else None,
            "unassigned": True if assignee == UNASSIGNED else None,
            "overdue": None if overdue is None else overdue == "yes",
            "age": data.get("age") or None,
            "created_after": _day_start(data.get("created_from")),
            "created_before": _day_start(data.get("created_to"), days_after=1),
            "location_ids": user_location_ids(self.request.user),
        }

    def filter_queryset(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        return selectors.incident_list(**self.selector_kwargs())


class IncidentListView(ListModelView):
    """The queue: open and acknowledged by default, newest first, aging buckets over the same filters."""

    model = Incident
    filterset_class = IncidentFilter
    filterset_initial = {"status": IN_QUEUE}
    columns = ("id", "title", "severity", "status")
    paginate_by = 25
    template_name = "core/incident_list.html"

    @viewprop
    def queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(location_ids=user_location_ids(self.request.user))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        user = self.request.user
        selected_status = sorted(self.filterset.form.cleaned_data.get("status") or [])
        aging = selectors.incident_aging(**self.filterset.selector_kwargs(), now=now)
        may_act = user.has_perm(ACT_PERMISSION)
        context.update(
            {
                "rows": [
                    {
                        "incident": incident,
                        "url": self.viewset.reverse("detail", args=[incident.pk]),
                        "age": _age(incident.created_at, now),
                        "overdue": incident.status in INCIDENT_OPEN and incident.due_at < now,
                    }
                    for incident in context["page_obj"].object_list
                ],
                "aging": aging,
                "aging_total": sum(b["count"] for b in aging),
                "selected_age": self.request.GET.get("age", ""),
                "status_chips": [
                    {"label": label, "values": values, "active": sorted(values) == selected_status}
                    for label, values in [
                        ("In queue", IN_QUEUE),
                        *[(label, [value]) for value, label in IncidentStatus.choices],
                        ("All", list(IncidentStatus.values)),
                    ]
                ],
                "may_act": may_act,
                "bulk_actions": [(a, ACTION_LABELS[a]) for a in services.BULK_ACTIONS] if may_act else [],
                "assignees": selectors.incident_assignee_candidates(incident=None) if may_act else [],
                "bulk_url": self.viewset.reverse("bulk"),
                "bulk_result": self.request.session.pop(BULK_SESSION_KEY, None),
            }
        )
        return context


class IncidentDetailView(TemplateView):
    """Header, subject link, details, history, and the forms this user may use now."""

    template_name = "core/incident_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        if not self.viewset.has_view_permission(user):
            raise PermissionDenied
        try:
            incident = selectors.incident_get(incident_id=kwargs["pk"], location_ids=user_location_ids(user))
        except NotFound:
            raise Http404("No such incident")
        now = timezone.now()
        status_label = dict(IncidentStatus.choices)
        action_label = dict(IncidentAction.choices)
        may_act = user.has_perm(ACT_PERMISSION)
        available: list[str] = []
        if may_act:
            if incident.status in INCIDENT_OPEN:
                available.append("assign")
            available += [a for a in ("acknowledge", "resolve", "dismiss") if can_proceed(getattr(incident, a))]
            if incident.status in INCIDENT_OPEN and services.incident_retry_supported(incident.kind):
                available.append("retry")
            if can_proceed(incident.reopen):
                available.append("reopen")
        subject = incident.subject if incident.subject_type_id else None
        return {
            **super().get_context_data(**kwargs),
            "incident": incident,
            "overdue": incident.status in INCIDENT_OPEN and incident.due_at < now,
            "age": _age(incident.created_at, now),
            "list_url": self.viewset.reverse("index"),
            "subject": {
                "label": str(subject) if subject is not None else selectors.incident_subject_label(incident),
                "type": selectors.incident_subject_label(incident),
                "id": incident.subject_id,
                "url": selectors.incident_subject_url(incident),
            }
            if incident.subject_type_id
            else None,
            "details": sorted(incident.details.items()) if isinstance(incident.details, dict) else [],
            "history": [
                {
                    "event": e,
                    "action": action_label.get(e.action, e.action),
                    "from": status_label.get(e.from_status, e.from_status),
                    "to": status_label.get(e.to_status, e.to_status),
                    "changes": [_change_text(field, change) for field, change in e.changes.items()],
                }
                for e in selectors.incident_events(incident_id=incident.pk)
            ],
            "actions": {a: self.viewset.reverse("action", args=[incident.pk, a]) for a in available},
            "assignees": selectors.incident_assignee_candidates(incident=incident) if "assign" in available else [],
        }


class ActionForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False)
    assignee = forms.CharField(max_length=150, required=False)

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action in ("resolve", "dismiss"):
            self.fields["note"].required = True

    def clean_note(self) -> str:
        return self.cleaned_data["note"].strip()

    def clean_assignee(self) -> Any:
        username = self.cleaned_data["assignee"].strip()
        if self.action != "assign" or not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"Unknown user {username!r}")
        return user


def _form_errors(form: forms.Form) -> str:
    return "; ".join(f"{field}: {' '.join(str(e) for e in errs)}" for field, errs in form.errors.items())


class IncidentActionView(View):
    """POST only: one service call, exactly as the API makes it; a refusal becomes a message."""

    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if not (request.user.has_perm("core.view_incident") and request.user.has_perm(ACT_PERMISSION)):
            raise PermissionDenied
        if action not in ACTION_LABELS:
            raise Http404("Unknown action")
        try:
            selectors.incident_get(incident_id=pk, location_ids=user_location_ids(request.user))
        except NotFound:
            raise Http404("No such incident")
        detail_url = self.viewset.reverse("detail", args=[pk])
        form = ActionForm(request.POST, action=action)
        if not form.is_valid():
            messages.error(request, f"{ACTION_LABELS[action]} refused: {_form_errors(form)}")
            return HttpResponseRedirect(detail_url)
        note, user = form.cleaned_data["note"], request.user
        try:
            if action == "assign":
                incident = services.incident_assign(
                    incident_id=pk, assignee=form.cleaned_data["assignee"], actor=user, note=note
                )
                who = incident.assignee.get_username() if incident.assignee is not None else "nobody"
                messages.success(request, f"Incident #{pk} is assigned to {who}.")
            elif action == "retry":
                result = services.incident_retry(incident_id=pk, actor=user)
                if result.succeeded:
                    messages.success(request, f"Retry succeeded: incident #{pk} is resolved. {result.detail}")
                else:
                    messages.warning(request, f"Retry failed: incident #{pk} stays open. {result.detail}")
            else:
                if action == "acknowledge":
                    services.incident_acknowledge(incident_id=pk, actor=user, note=note)
                elif action == "resolve":
                    services.incident_resolve(incident_id=pk, actor=user, note=note)
                elif action == "dismiss":
                    services.incident_dismiss(incident_id=pk, actor=user, reason=note)
                else:
                    services.incident_reopen(incident_id=pk, actor=user, note=note)
                messages.success(request, f"Incident #{pk} {ACTION_DONE[action]}.")
        except NotFound:
            raise Http404("No such incident")
        except DomainError as error:
            messages.error(request, error.detail)
        return HttpResponseRedirect(detail_url)


class BulkForm(ActionForm):
    # A form field named like ActionForm's attribute: the form metaclass turns it into a declared field.
    action = forms.ChoiceField(choices=[(a, ACTION_LABELS[a]) for a in services.BULK_ACTIONS])  # type: ignore[assignment]

    def __init__(self, data: Any) -> None:
        super().__init__(data, action=data.get("action", ""))


class IncidentBulkView(View):
    """POST only: services.incident_bulk; the per-item results are shown above the list once."""

    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest) -> HttpResponse:
        if not (request.user.has_perm("core.view_incident") and request.user.has_perm(ACT_PERMISSION)):
            raise PermissionDenied
        list_url = self.viewset.reverse("index")
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}) or not next_url.startswith(
            list_url
        ):
            next_url = list_url
        form = BulkForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Bulk action refused: {_form_errors(form)}")
            return HttpResponseRedirect(next_url)
        raw_ids = request.POST.getlist("ids")
        if not raw_ids or len(raw_ids) > 200 or not all(v.isdigit() and len(v) < 19 for v in raw_ids):
            messages.error(request, "Select between 1 and 200 incidents.")
            return HttpResponseRedirect(next_url)
        action, ids = form.cleaned_data["action"], [int(v) for v in raw_ids]
        try:
            results = services.incident_bulk(
                action=action,
                ids=ids,
                actor=request.user,
                note=form.cleaned_data["note"],
                assignee=form.cleaned_data["assignee"],
            )
        except DomainError as error:
            messages.error(request, f"Bulk action refused: {error.detail}")
            return HttpResponseRedirect(next_url)
        done = sum(1 for r in results if r.ok)
        level = messages.SUCCESS if done == len(results) else messages.WARNING
        messages.add_message(
            request, level, f"{ACTION_LABELS[action]}: {done} of {len(results)} done, {len(results) - done} refused."
        )
        request.session[BULK_SESSION_KEY] = {
            "action": ACTION_LABELS[action],
            "results": [
                {"id": r.id, "ok": r.ok, "status": r.status, "error": r.error.replace("_", " "), "detail": r.detail}
                for r in results
            ],
        }
        return HttpResponseRedirect(next_url)
