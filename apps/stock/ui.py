"""The Stock application of the staff portal: levels and the movement ledger (read-only), adjustments
and cycle counts (created here through apps.stock.services)."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset
from viewflow.utils import Icon

from apps.core.ui import PortalApplication, site
from apps.stock import views
from apps.stock.models import CycleCount, StockAdjustment, StockLevel, StockMovement, StockTransfer


class StockLevelViewset(ReadonlyModelViewset):
    model = StockLevel
    app_name = "levels"
    title = "Levels"
    icon = Icon("inventory_2")
    list_view_class = views.StockLevelListView
    detail_path = None  # a level has no page of its own; the list says it all

    def get_object_url(self, request, obj):
        return None


class StockMovementViewset(ReadonlyModelViewset):
    model = StockMovement
    app_name = "movements"
    title = "Movements"
    icon = Icon("swap_horiz")
    list_view_class = views.StockMovementListView
    detail_path = None

    def get_object_url(self, request, obj):
        return None


class StockAdjustmentViewset(ReadonlyModelViewset):
    model = StockAdjustment
    app_name = "adjustments"
    title = "Adjustments"
    icon = Icon("tune")
    list_view_class = views.StockAdjustmentListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.StockAdjustmentDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.StockAdjustmentCreateView.as_view(viewset=self), name="add")


class CycleCountViewset(ReadonlyModelViewset):
    model = CycleCount
    app_name = "counts"
    title = "Cycle counts"
    icon = Icon("fact_check")
    list_view_class = views.CycleCountListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.CycleCountDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.CycleCountCreateView.as_view(viewset=self), name="add")


class StockTransferViewset(ReadonlyModelViewset):
    model = StockTransfer
    app_name = "transfers"
    title = "Transfers"
    icon = Icon("local_shipping")
    list_view_class = views.StockTransferListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.StockTransferDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.StockTransferCreateView.as_view(viewset=self), name="add")

    @property
    def proposals_path(self):
        return path("proposals/", views.ReplenishmentProposalListView.as_view(viewset=self), name="proposals")


@site.register
class StockApplication(PortalApplication):
    title = "Stock"
    icon = Icon("warehouse")
    app_name = "stock"
    permission = "stock.view_stocklevel"
    menu_position = 20
    viewsets = [
        StockLevelViewset(),
        StockMovementViewset(),
        StockAdjustmentViewset(),
        CycleCountViewset(),
        StockTransferViewset(),
    ]
