"""Approval API routes."""

from django.urls import path

from apps.approvals.api import views

urlpatterns = [
    path("approvals/tasks/", views.ApprovalTaskListApi.as_view(), name="approval-task-list"),
    path("approvals/tasks/bulk/", views.ApprovalTaskBulkApi.as_view(), name="approval-task-bulk"),
    path("approvals/tasks/<int:task_id>/", views.ApprovalTaskDetailApi.as_view(), name="approval-task-detail"),
    path("approvals/tasks/<int:task_id>/claim/", views.ApprovalTaskClaimApi.as_view(), name="approval-task-claim"),
    path(
        "approvals/tasks/<int:task_id>/release/", views.ApprovalTaskReleaseApi.as_view(), name="approval-task-release"
    ),
    path(
        "approvals/tasks/<int:task_id>/approve/", views.ApprovalTaskApproveApi.as_view(), name="approval-task-approve"
    ),
    path("approvals/tasks/<int:task_id>/reject/", views.ApprovalTaskRejectApi.as_view(), name="approval-task-reject"),
    path("approvals/delegations/", views.DelegationListCreateApi.as_view(), name="approval-delegation-list"),
    path(
        "approvals/delegations/<int:delegation_id>/revoke/",
        views.DelegationRevokeApi.as_view(),
        name="approval-delegation-revoke",
    ),
]
