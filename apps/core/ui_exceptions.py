"""The Exceptions application of the staff portal: the incident queue of every domain."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset, route
from viewflow.utils import Icon

from apps.core import views
from apps.core.models import Incident
from apps.core.ui import PortalApplication, site


class IncidentViewset(ReadonlyModelViewset):
    """List and detail with our own views; every action (and bulk) is a POST to a service."""

    model = Incident
    title = "Exceptions"
    icon = Icon("report_problem")
    list_view_class = views.IncidentListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.IncidentDetailView.as_view(viewset=self), name="detail")

    @property
    def action_path(self):
        return path("<int:pk>/<slug:action>/", views.IncidentActionView.as_view(viewset=self), name="action")

    @property
    def bulk_path(self):
        return path("bulk/", views.IncidentBulkView.as_view(viewset=self), name="bulk")


@site.register
class ExceptionsApplication(PortalApplication):
    title = "Exceptions"
    icon = Icon("report_problem")
    app_name = "exceptions"
    permission = "core.view_incident"
    menu_position = 30

    incidents_path = route("", IncidentViewset())
