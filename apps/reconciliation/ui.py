"""The Reconciliation application of the staff portal: uploads, the run list, a run with live progress."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset
from viewflow.utils import Icon
from viewflow.views.base import Action

from apps.core.ui import PortalApplication, site
from apps.reconciliation import views
from apps.reconciliation.models import ReconciliationRun


class RunViewset(ReadonlyModelViewset):
    model = ReconciliationRun
    app_name = "runs"
    title = "Runs"
    icon = Icon("fact_check")
    list_view_class = views.RunListView

    def get_list_page_actions(self, request, *actions):
        if request.user.has_perm(views.IMPORT_PERMISSION):
            upload = Action(
                name="Upload a file",
                url=self.reverse("upload"),
                icon=Icon("upload_file", class_="material-icons mdc-list-item__graphic"),
            )
            actions = (upload, *actions)
        return super().get_list_page_actions(request, *actions)

    @property
    def detail_path(self):
        return path("<int:pk>/", views.RunDetailView.as_view(viewset=self), name="detail")

    @property
    def progress_path(self):
        return path("<int:pk>/progress/", views.RunProgressView.as_view(viewset=self), name="progress")

    @property
    def upload_path(self):
        return path("upload/", views.RunUploadView.as_view(viewset=self), name="upload")


@site.register
class ReconciliationApplication(PortalApplication):
    title = "Reconciliation"
    icon = Icon("fact_check")
    app_name = "reconciliation"
    permission = "reconciliation.view_reconciliationrun"
    menu_position = 40
    viewsets = [RunViewset()]
