"""Staff UI for approvals: inbox, queue (with bulk decisions), archive, task detail, delegations.

Every button posts to a view that calls the same service as the API; a refusal (separation of
duties, a task someone else claimed, a subject that cannot take the outcome) becomes a message.
"""

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from apps.approvals import selectors, services
from apps.approvals.models import ApprovalTask
from apps.core.errors import DomainError, NotFound

User = get_user_model()


def _app(request: HttpRequest) -> Any:
    match = request.resolver_match
    assert match is not None  # these views are only reached through the URL resolver
    return match.app  # type: ignore[attr-defined]  # set by viewflow's site resolver


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else fallback


class TaskRow:
    """A task with what the list pages show about it, computed once."""

    def __init__(self, task: ApprovalTask, *, user: Any, now: datetime) -> None:
        self.task = task
        self.request = task.process.approvalrequest
        self.overdue = selectors.is_overdue(task, now)
        self.status = services.task_status(task)
        behalf = task.decided_on_behalf_of or task.claimed_on_behalf_of
        if task.status == "ASSIGNED" and task.owner_id != user.pk:
            behalf = task.owner  # a delegate looking at the delegator's task
        self.on_behalf_of = behalf


class _TaskListView(TemplateView):
    template_name = "approvals/task_list.html"
    scope = ""
    title = ""
    empty = ""
    page_kwarg = "page"
    paginate_by = 50

    def tasks(self):
        raise NotImplementedError

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        paginator = Paginator(self.tasks(), self.paginate_by)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        now = timezone.now()
        app = _app(self.request)
        return {
            **super().get_context_data(**kwargs),
            "view": self,
            "scope": self.scope,
            "title": self.title,
            "empty": self.empty,
            "paginator": paginator,
            "page_obj": page,
            "rows": [TaskRow(t, user=user, now=now) for t in page.object_list],
            "bulk_url": app.reverse("bulk"),
        }


class InboxView(_TaskListView):
    scope = "inbox"
    title = "Inbox"
    empty = "Nothing waiting for you. Claim a task from the queue."

    def tasks(self):
        return selectors.approval_task_inbox(user=self.request.user)


class QueueView(_TaskListView):
    scope = "queue"
    title = "Queue"
    empty = "No open tasks you may claim."

    def tasks(self):
        return selectors.approval_task_queue(user=self.request.user)


class ArchiveView(_TaskListView):
    scope = "archive"
    title = "Archive"
    empty = "You have not decided anything yet."

    def tasks(self):
        return selectors.approval_task_archive(user=self.request.user)


class TaskDetailView(TemplateView):
    """The subject, the policy that applied, the levels, the trail, and the buttons this user may press."""

    template_name = "approvals/task_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        try:
            task = selectors.approval_task_get(task_id=kwargs["pk"], user=user)
        except NotFound:
            raise Http404("No such task")
        request = selectors.request_of(task)
        now = timezone.now()
        app = _app(self.request)
        return {
            **super().get_context_data(**kwargs),
            "task": task,
            "row": TaskRow(task, user=user, now=now),
            "request_": request,
            "subject": selectors.subject_description(request),
            "possible": selectors.approval_task_possible(task=task, user=user),
            "levels": [
                {"rule": rule, "task": t}
                for rule, t in _levels_with_tasks(request, selectors.approval_request_tasks(request=request))
            ],
            "trail": selectors.approval_request_trail(request_id=request.pk),
            "claim_url": app.reverse("claim", args=[task.pk]),
            "decide_url": app.reverse("decide", args=[task.pk]),
            "release_url": app.reverse("release", args=[task.pk]),
            "inbox_url": app.reverse("inbox"),
            "queue_url": app.reverse("queue"),
        }


def _levels_with_tasks(request, tasks):
    by_level: dict[int, ApprovalTask] = {}
    for t in tasks:
        by_level[t.level] = t  # the latest task of a level
    return [(rule, by_level.get(rule["level"])) for rule in request.level_rules]


class TaskClaimView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        app = _app(request)
        try:
            selectors.approval_task_get(task_id=pk, user=request.user)
            task = services.approval_task_claim(task_id=pk, user=request.user)
        except NotFound:
            raise Http404("No such task")
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseRedirect(_safe_next(request, app.reverse("task", args=[pk])))
        behalf = f" on behalf of {task.claimed_on_behalf_of.get_username()}" if task.claimed_on_behalf_of else ""
        messages.success(request, f"Task {task.pk} is in your inbox{behalf}.")
        return HttpResponseRedirect(app.reverse("task", args=[pk]))


class TaskReleaseView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        app = _app(request)
        try:
            selectors.approval_task_get(task_id=pk, user=request.user)
            task = services.approval_task_release(task_id=pk, user=request.user)
        except NotFound:
            raise Http404("No such task")
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"Task {task.pk} is back in the queue.")
        return HttpResponseRedirect(app.reverse("task", args=[pk]))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(max_length=2000, required=False)


class TaskDecideView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        app = _app(request)
        detail_url = app.reverse("task", args=[pk])
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose approve or reject.")
            return HttpResponseRedirect(detail_url)
        approve = form.cleaned_data["decision"] == "approve"
        try:
            selectors.approval_task_get(task_id=pk, user=request.user)
            task = services.approval_task_decide(
                task_id=pk, user=request.user, approve=approve, comment=form.cleaned_data["comment"]
            )
        except NotFound:
            raise Http404("No such task")
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseRedirect(detail_url)
        request_ = selectors.request_of(task)
        if approve and request_.outcome == "approved":
            messages.success(request, f"Approved: {request_.summary}. The outcome was applied.")
        elif approve:
            messages.success(request, f"Level {task.level} approved; level {task.level + 1} is open for its approvers.")
        else:
            messages.success(request, f"Rejected: {request_.summary}.")
        return HttpResponseRedirect(detail_url)


class BulkView(View):
    """POST from the queue (or inbox): claim, approve or reject the ticked tasks, one message per refusal."""

    http_method_names = ["post"]
    labels = {"claim": "Claimed", "approve": "Approved", "reject": "Rejected"}

    def post(self, request: HttpRequest) -> HttpResponse:
        app = _app(request)
        back = _safe_next(request, app.reverse("queue"))
        action = request.POST.get("action", "")
        if action not in services.BULK_ACTIONS:
            messages.error(request, "Choose claim, approve or reject.")
            return HttpResponseRedirect(back)
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        if not ids:
            messages.error(request, "Tick at least one task.")
            return HttpResponseRedirect(back)
        visible = [i for i in dict.fromkeys(ids) if _visible(i, request.user)]
        results = services.approval_tasks_bulk(
            action=action, task_ids=visible, user=request.user, comment=request.POST.get("comment", "")
        )
        done = [r for r in results if r.ok]
        if done:
            messages.success(
                request, f"{self.labels[action]} {len(done)} of {len(ids)}: " + ", ".join(f"#{r.id}" for r in done)
            )
        for r in results:
            if not r.ok:
                messages.error(request, f"#{r.id}: {r.detail}")
        for task_id in set(ids) - set(visible):
            messages.error(request, f"#{task_id}: Approval task {task_id} does not exist")
        return HttpResponseRedirect(back)


def _visible(task_id: int, user: Any) -> bool:
    try:
        selectors.approval_task_get(task_id=task_id, user=user)
    except NotFound:
        return False
    return True


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="username")
    valid_from = forms.DateField(label="From (first day)")
    valid_until = forms.DateField(label="Until (last day)")
    comment = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = selectors.delegation_candidates(user=user)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("valid_from") and data.get("valid_until") and data["valid_until"] < data["valid_from"]:
            raise forms.ValidationError("The last day cannot be before the first.")
        return data

    def window(self) -> tuple[datetime, datetime]:
        """Whole days in the portal's time zone: from the first day's start to the end of the last."""
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.cleaned_data["valid_from"], time.min, tzinfo=tz)
        end = datetime.combine(self.cleaned_data["valid_until"] + timedelta(days=1), time.min, tzinfo=tz)
        return start, end


class DelegationsView(TemplateView):
    """My delegations (given and received) and a form to delegate for a date window."""

    template_name = "approvals/delegations.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST" and not request.user.has_perm("approvals.add_delegation"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        rows = list(selectors.delegation_list(user=user))
        return {
            **super().get_context_data(**kwargs),
            "form": kwargs.get("form") or DelegationForm(user=user, initial={"valid_from": timezone.localdate()}),
            "may_delegate": user.has_perm("approvals.add_delegation"),
            "given": [d for d in rows if d.delegator_id == user.pk],
            "received": [d for d in rows if d.delegate_id == user.pk],
            "now": timezone.now(),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DelegationForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        valid_from, valid_until = form.window()
        try:
            delegation = services.delegation_create(
                delegator=request.user,
                delegate=form.cleaned_data["delegate"],
                valid_from=valid_from,
                valid_until=valid_until,
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            f"{delegation.delegate.get_username()} may act for you from "
            f"{timezone.localtime(delegation.valid_from):%Y-%m-%d %H:%M} until "
            f"{timezone.localtime(delegation.valid_until):%Y-%m-%d %H:%M}.",
        )
        return HttpResponseRedirect(_app(request).reverse("delegations"))


class DelegationRevokeView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            delegation = services.delegation_revoke(delegation_id=pk, actor=request.user)
        except NotFound:
            raise Http404("No such delegation")
        messages.success(request, f"Delegation to {delegation.delegate.get_username()} revoked.")
        return HttpResponseRedirect(_app(request).reverse("delegations"))
