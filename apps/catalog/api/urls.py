"""Catalog API routes."""

from django.urls import path

from apps.catalog.api import views

urlpatterns = [
    path("products/", views.ProductListCreateApi.as_view(), name="product-list"),
    path("locations/", views.LocationListCreateApi.as_view(), name="location-list"),
]
