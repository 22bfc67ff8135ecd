"""Stock API routes."""

from django.urls import path

from apps.stock.api import views

urlpatterns = [
    path("stock/receipts/", views.StockReceiptCreateApi.as_view(), name="stock-receipt-create"),
    path("stock/levels/", views.StockLevelListApi.as_view(), name="stock-level-list"),
    path("stock/movements/", views.StockMovementListApi.as_view(), name="stock-movement-list"),
]
