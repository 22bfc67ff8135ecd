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
    path("stock/counts/", views.StockCountListCreateApi.as_view(), name="stock-count-list"),
    path("stock/counts/<int:count_id>/", views.StockCountDetailApi.as_view(), name="stock-count-detail"),
]
