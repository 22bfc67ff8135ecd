"""Stock API routes."""

from django.urls import path

from apps.stock.api import views

urlpatterns = [
    path("stock/receipts/", views.StockReceiptCreateApi.as_view(), name="stock-receipt-create"),
    path("stock/levels/", views.StockLevelListApi.as_view(), name="stock-level-list"),
    path("stock/movements/", views.StockMovementListApi.as_view(), name="stock-movement-list"),
    path("stock/adjustments/", views.StockAdjustmentListCreateApi.as_view(), name="stock-adjustment-list"),
    path(
        "stock/adjustments/<int:adjustment_id>/",
        views.StockAdjustmentDetailApi.as_view(),
        name="stock-adjustment-detail",
    ),
    path(
        "stock/adjustments/<int:adjustment_id>/withdraw/",
        views.StockAdjustmentWithdrawApi.as_view(),
        name="stock-adjustment-withdraw",
    ),
    path("stock/counts/", views.StockCountListCreateApi.as_view(), name="stock-count-list"),
    path("stock/counts/<int:count_id>/", views.StockCountDetailApi.as_view(), name="stock-count-detail"),
    path("transfers/", views.StockTransferListCreateApi.as_view(), name="stock-transfer-list"),
    path(
        "transfers/proposals/accept/",
        views.StockTransferProposalsAcceptApi.as_view(),
        name="stock-transfer-proposals-accept",
    ),
    path("transfers/<int:transfer_id>/", views.StockTransferDetailApi.as_view(), name="stock-transfer-detail"),
    path(
        "transfers/<int:transfer_id>/approve/", views.StockTransferApproveApi.as_view(), name="stock-transfer-approve"
    ),
    path("transfers/<int:transfer_id>/pick/", views.StockTransferPickApi.as_view(), name="stock-transfer-pick"),
    path(
        "transfers/<int:transfer_id>/dispatch/",
        views.StockTransferDispatchApi.as_view(),
        name="stock-transfer-dispatch",
    ),
    path(
        "transfers/<int:transfer_id>/receive/", views.StockTransferReceiveApi.as_view(), name="stock-transfer-receive"
    ),
    path(
        "transfers/<int:transfer_id>/withdraw/",
        views.StockTransferWithdrawApi.as_view(),
        name="stock-transfer-withdraw",
    ),
    path("transfers/<int:transfer_id>/cancel/", views.StockTransferCancelApi.as_view(), name="stock-transfer-cancel"),
]
