"""The Returns application of the staff portal: the store return desk, the list and the detail page."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset
from viewflow.utils import Icon

from apps.core.ui import PortalApplication, site
from apps.returns import views
from apps.returns.models import Return


class ReturnViewset(ReadonlyModelViewset):
    model = Return
    app_name = "returns"
    title = "Returns"
    icon = Icon("assignment_return")
    list_view_class = views.ReturnListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.ReturnDetailView.as_view(viewset=self), name="detail")

    @property
    def desk_path(self):
        return path("desk/", views.ReturnDeskView.as_view(viewset=self), name="desk")

    @property
    def action_path(self):
        return path("<int:pk>/<slug:action>/", views.ReturnActionView.as_view(viewset=self), name="action")


@site.register
class ReturnsApplication(PortalApplication):
    title = "Returns"
    icon = Icon("assignment_return")
    app_name = "returns"
    permission = "returns.view_return"
    menu_position = 15
    viewsets = [ReturnViewset()]
