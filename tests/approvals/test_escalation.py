"""SLA: overdue approval tasks are escalated once, with one incident and one e-mail each."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from apps.approvals import selectors, services
from apps.approvals.models import ApprovalEvent, ApprovalPolicyLevel, ApprovalRequest, ApprovalTask
from apps.approvals.tasks import approvals_escalate_overdue_task
from apps.core.models import Incident
from tests.approvals.helpers import adjust, person

pytestmark = pytest.mark.django_db


def open_task(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return selectors.approval_request_open_task(request=request)


def test_each_task_is_due_after_its_level_sla(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)])
    first = open_task(adjustment)
    assert first.due_at - first.created == timedelta(hours=24)
    services.approval_task_claim(task_id=first.pk, user=staff["approver"])
    services.approval_task_approve(task_id=first.pk, user=staff["approver"])
    second = open_task(adjustment)
    assert second.due_at - second.created == timedelta(hours=48)


def test_an_overdue_task_raises_one_incident_and_one_email_once(shop, staff, django_capture_on_commit_callbacks):
    # given: a two-level adjustment whose first level is unclaimed and a day past due
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)])
    task = open_task(adjustment)
    later = task.due_at + timedelta(hours=1)

    # when: the job runs
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_tasks_escalate_overdue(now=later) == 1

    # then: one incident about the task
    incident = Incident.objects.get()
    assert (incident.kind, incident.severity, incident.subject_id, incident.dedupe_key) == (
        "approvals.task_overdue",
        "medium",
        str(task.pk),
        f"approvals.task_overdue:{task.pk}",
    )
    assert incident.title == f"Approval overdue: {ApprovalRequest.objects.get().summary} (level 1 of 2, unclaimed)"
    assert incident.details["overdue_minutes"] == 60
    # and: one e-mail, after commit, to the next level (finance holds approvals.approve_as_finance)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fin@example.com", "olga@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject.startswith("[RetailOps] Approval overdue: ADJ-")
    assert f"/approvals/tasks/{task.pk}/" in message.body
    # and: the task shows it was escalated, and the audit trail says so
    assert ApprovalTask.objects.get(pk=task.pk).escalated_at == later
    assert ApprovalEvent.objects.filter(action="escalated", task=task).count() == 1

    # when: the job runs again (and again later)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_tasks_escalate_overdue(now=later + timedelta(minutes=5)) == 0
        assert services.approval_tasks_escalate_overdue(now=later + timedelta(days=3)) == 0

    # then: nothing new
    assert (Incident.objects.count(), Incident.objects.get().occurrences, len(mail.outbox)) == (1, 1, 1)
    assert ApprovalEvent.objects.filter(action="escalated").count() == 1


def test_at_the_last_level_the_same_levels_people_are_notified(shop, staff, django_capture_on_commit_callbacks):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])

    with django_capture_on_commit_callbacks(execute=True):
        services.approval_tasks_escalate_overdue(now=task.due_at + timedelta(seconds=1))

    # approvers and ops hold stock.approve_adjustment; the requester (a store manager) never gets it
    assert mail.outbox[0].to == ["abe@example.com", "ava@example.com", "olga@example.com"]
    assert Incident.objects.get().title.endswith("(level 1 of 1, held by ava)")


def test_a_level_with_a_group_notifies_that_group(shop, staff, django_capture_on_commit_callbacks):
    night = Group.objects.create(name="night shift")
    late = person("nora", "approver")
    late.groups.add(night)
    ApprovalPolicyLevel.objects.filter(level=1).update(group=night)
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    assert list(selectors.approval_task_queue(user=staff["approver"])) == []
    assert list(selectors.approval_task_queue(user=late)) == [task]

    with django_capture_on_commit_callbacks(execute=True):
        services.approval_tasks_escalate_overdue(now=task.due_at + timedelta(seconds=1))

    assert mail.outbox[0].to == ["nora@example.com"]


def test_nothing_is_escalated_before_it_is_due_or_after_it_is_decided(shop, staff, django_capture_on_commit_callbacks):
    due_later = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    decided = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -150)]))
    services.approval_task_claim(task_id=decided.pk, user=staff["approver"])
    services.approval_task_approve(task_id=decided.pk, user=staff["approver"])

    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_tasks_escalate_overdue(now=due_later.due_at - timedelta(seconds=1)) == 0
        ApprovalTask.objects.filter(pk=decided.pk).update(due_at=timezone.now() - timedelta(days=2))
        assert services.approval_tasks_escalate_overdue() == 0

    assert (Incident.objects.count(), len(mail.outbox)) == (0, 0)


def test_the_celery_task_is_thin_and_idempotent(shop, staff, django_capture_on_commit_callbacks):
    task = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    ApprovalTask.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert approvals_escalate_overdue_task.apply().get() == 1
        assert approvals_escalate_overdue_task.apply().get() == 0

    assert (Incident.objects.count(), len(mail.outbox)) == (1, 1)


def test_the_job_is_in_the_beat_schedule():
    assert settings.CELERY_BEAT_SCHEDULE["approvals-escalate-overdue"] == {
        "task": "apps.approvals.tasks.approvals_escalate_overdue_task",
        "schedule": 300.0,
    }
