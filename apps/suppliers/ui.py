"""The Procurement application of the staff portal: purchase orders (create, submit, send, receive, print),
replenishment (reorder rules and proposed orders), supplier invoices with their match results, and
suppliers with their scorecard. Every write goes through apps.suppliers.services."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset
from viewflow.utils import Icon

from apps.core.ui import PortalApplication, site
from apps.suppliers import views
from apps.suppliers.models import PurchaseOrder, ReorderRule, Supplier, SupplierInvoice


class PurchaseOrderViewset(ReadonlyModelViewset):
    model = PurchaseOrder
    app_name = "purchase-orders"
    namespace = "purchase_orders"  # apps.suppliers.describe links to suppliers:purchase_orders:detail
    title = "Purchase orders"
    icon = Icon("shopping_cart")
    list_view_class = views.PurchaseOrderListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.PurchaseOrderDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.PurchaseOrderCreateView.as_view(viewset=self), name="add")

    @property
    def print_path(self):
        return path("<int:pk>/print/", views.PurchaseOrderPrintView.as_view(viewset=self), name="print")

    @property
    def receive_path(self):
        return path("<int:pk>/receive/", views.PurchaseOrderReceiveView.as_view(viewset=self), name="receive")

    @property
    def action_path(self):
        return path("<int:pk>/<slug:action>/", views.PurchaseOrderActionView.as_view(viewset=self), name="action")


class ReplenishmentViewset(ReadonlyModelViewset):
    model = ReorderRule
    app_name = "replenishment"
    title = "Replenishment"
    icon = Icon("autorenew")
    list_view_class = views.ReorderRuleListView
    detail_path = None

    def get_object_url(self, request, obj):
        return None

    @property
    def rule_path(self):
        return path("rule/", views.ReorderRuleSetView.as_view(viewset=self), name="rule")

    @property
    def proposals_path(self):
        return path("proposals/", views.ProposedOrdersView.as_view(viewset=self), name="proposals")


class SupplierInvoiceViewset(ReadonlyModelViewset):
    model = SupplierInvoice
    app_name = "invoices"  # suppliers:invoices:detail, linked from the variance approval
    title = "Supplier invoices"
    icon = Icon("receipt_long")
    list_view_class = views.SupplierInvoiceListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.SupplierInvoiceDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.SupplierInvoiceCreateView.as_view(viewset=self), name="add")

    @property
    def action_path(self):
        return path("<int:pk>/<slug:action>/", views.SupplierInvoiceActionView.as_view(viewset=self), name="action")


class SupplierViewset(ReadonlyModelViewset):
    model = Supplier
    app_name = "suppliers"
    title = "Suppliers"
    icon = Icon("factory")
    list_view_class = views.SupplierListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.SupplierDetailView.as_view(viewset=self), name="detail")


@site.register
class ProcurementApplication(PortalApplication):
    title = "Procurement"
    icon = Icon("local_shipping")
    app_name = "suppliers"
    permission = "suppliers.view_purchaseorder"
    menu_position = 22  # after Stock, before Approvals
    viewsets = [PurchaseOrderViewset(), ReplenishmentViewset(), SupplierInvoiceViewset(), SupplierViewset()]
