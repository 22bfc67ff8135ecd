"""The Orders application of the staff portal."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset, route
from viewflow.utils import Icon

from apps.core.ui import PortalApplication, site
from apps.orders import views
from apps.orders.models import Order


class OrderViewset(ReadonlyModelViewset):
    """List and detail from viewflow's model viewset, with our own views; transitions are POST-only."""

    model = Order
    title = "Orders"
    icon = Icon("receipt_long")
    list_view_class = views.OrderListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.OrderDetailView.as_view(viewset=self), name="detail")

    @property
    def transition_path(self):
        return path("<int:pk>/<slug:action>/", views.OrderTransitionView.as_view(viewset=self), name="transition")


@site.register
class OrdersApplication(PortalApplication):
    title = "Orders"
    icon = Icon("shopping_cart")
    app_name = "orders"
    permission = "orders.view_order"
    menu_position = 10

    orders_path = route("", OrderViewset())
