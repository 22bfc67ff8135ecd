"""Order API routes."""

from django.urls import path

from apps.orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:order_id>/", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/history/", views.OrderHistoryApi.as_view(), name="order-history"),
    *[
        path(f"orders/<int:order_id>/{action}/", view.as_view(), name=f"order-{action}")
        for action, view in views.TRANSITION_VIEWS.items()
    ],
]
