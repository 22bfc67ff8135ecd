"""The Approvals application of the staff portal: inbox, queue, archive, task pages, delegations.

viewflow's own workflow viewsets (FlowAppViewset / WorkflowAppViewset) are not used: their queue is
"holds the task's permission", which knows neither separation of duties nor delegations, and their
pages bring their own frame. These views list through apps.approvals.selectors and act through
apps.approvals.services, in the portal's frame.
"""

from django.urls import path
from django.views.generic import RedirectView
from viewflow.utils import Icon

from apps.approvals import authority, selectors, views
from apps.core.ui import PortalApplication, site


@site.register
class ApprovalsApplication(PortalApplication):
    title = "Approvals"
    icon = Icon("approval")
    app_name = "approvals"
    menu_position = 25
    menu_template_name = "approvals/menu.html"

    def has_view_permission(self, user, obj=None) -> bool:
        if not user.is_authenticated:
            return True  # the portal wrapper sends them to the login page first
        return user.has_perm(selectors.VIEW_ALL_PERMISSION) or bool(authority.active_delegations_to(user))

    def get_context_data(self, request):
        if not request.user.is_authenticated:
            return {}
        return {
            "approvals_inbox_count": selectors.approval_task_inbox(user=request.user).count(),
            "approvals_queue_count": selectors.approval_task_queue(user=request.user).count(),
        }

    @property
    def index_path(self):
        return path("", RedirectView.as_view(url="inbox/"), name="index")

    inbox_path = path("inbox/", views.InboxView.as_view(), name="inbox")
    queue_path = path("queue/", views.QueueView.as_view(), name="queue")
    archive_path = path("archive/", views.ArchiveView.as_view(), name="archive")
    bulk_path = path("bulk/", views.BulkView.as_view(), name="bulk")
    task_path = path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task")
    claim_path = path("tasks/<int:pk>/claim/", views.TaskClaimView.as_view(), name="claim")
    decide_path = path("tasks/<int:pk>/decide/", views.TaskDecideView.as_view(), name="decide")
    release_path = path("tasks/<int:pk>/release/", views.TaskReleaseView.as_view(), name="release")
    delegations_path = path("delegations/", views.DelegationsView.as_view(), name="delegations")
    revoke_path = path("delegations/<int:pk>/revoke/", views.DelegationRevokeView.as_view(), name="revoke")
