"""Procurement API routes."""

from django.urls import path

from apps.suppliers.api import views as v

urlpatterns = [
    path("suppliers/", v.SupplierListCreateApi.as_view(), name="supplier-list"),
    path("suppliers/<int:supplier_id>/", v.SupplierDetailApi.as_view(), name="supplier-detail"),
    path("suppliers/<int:supplier_id>/products/", v.SupplierProductsApi.as_view(), name="supplier-products"),
    path("suppliers/<int:supplier_id>/scorecard/", v.SupplierScorecardApi.as_view(), name="supplier-scorecard"),
    path("purchase-orders/", v.PurchaseOrderListCreateApi.as_view(), name="purchase-order-list"),
    path("purchase-orders/<int:po_id>/", v.PurchaseOrderDetailApi.as_view(), name="purchase-order-detail"),
    path("purchase-orders/<int:po_id>/submit/", v.PurchaseOrderSubmitApi.as_view(), name="purchase-order-submit"),
    path("purchase-orders/<int:po_id>/withdraw/", v.PurchaseOrderWithdrawApi.as_view(), name="purchase-order-withdraw"),
    path("purchase-orders/<int:po_id>/send/", v.PurchaseOrderSendApi.as_view(), name="purchase-order-send"),
    path("purchase-orders/<int:po_id>/cancel/", v.PurchaseOrderCancelApi.as_view(), name="purchase-order-cancel"),
    path("purchase-orders/<int:po_id>/close/", v.PurchaseOrderCloseApi.as_view(), name="purchase-order-close"),
    path("purchase-orders/<int:po_id>/receipts/", v.PurchaseOrderReceiptApi.as_view(), name="purchase-order-receipts"),
    path("supplier-invoices/", v.SupplierInvoiceListCreateApi.as_view(), name="supplier-invoice-list"),
    path("supplier-invoices/<int:invoice_id>/", v.SupplierInvoiceDetailApi.as_view(), name="supplier-invoice-detail"),
    path(
        "supplier-invoices/<int:invoice_id>/accept-variance/",
        v.SupplierInvoiceAcceptVarianceApi.as_view(),
        name="supplier-invoice-accept-variance",
    ),
    path(
        "supplier-invoices/<int:invoice_id>/dispute/",
        v.SupplierInvoiceDisputeApi.as_view(),
        name="supplier-invoice-dispute",
    ),
]
