"""Return API routes."""

from django.urls import path

from apps.returns.api import views

urlpatterns = [
    path("returns/", views.ReturnListCreateApi.as_view(), name="return-list"),
    path("returns/<int:return_id>/", views.ReturnDetailApi.as_view(), name="return-detail"),
    path("returns/<int:return_id>/authorize/", views.ReturnAuthorizeApi.as_view(), name="return-authorize"),
    path("returns/<int:return_id>/reject/", views.ReturnRejectApi.as_view(), name="return-reject"),
    path("returns/<int:return_id>/receive/", views.ReturnReceiveApi.as_view(), name="return-receive"),
    path("returns/<int:return_id>/inspect/", views.ReturnInspectApi.as_view(), name="return-inspect"),
    path(
        "returns/<int:return_id>/confirm-refund/", views.ReturnConfirmRefundApi.as_view(), name="return-confirm-refund"
    ),
    path("returns/<int:return_id>/close/", views.ReturnCloseApi.as_view(), name="return-close"),
]
