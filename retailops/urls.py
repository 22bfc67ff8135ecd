"""Root URLs: the staff portal at /, the API under /api/v1/, its schema and docs, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.stock.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.core.api.urls")),
    path("", include("apps.approvals.api.urls")),
    path("", include("apps.returns.api.urls")),
    path("", include("apps.suppliers.api.urls")),
    path("", include("apps.journal.api.urls")),
    path("", include("apps.reconciliation.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("apps.core.ui_urls")),
]
