"""Incident API routes."""

from django.urls import path

from apps.core.api import currency, views

urlpatterns = [
    path("exchange-rates/", currency.ExchangeRateListCreateApi.as_view(), name="exchange-rate-list"),
    path("incidents/", views.IncidentListApi.as_view(), name="incident-list"),
    path("incidents/aging/", views.IncidentAgingApi.as_view(), name="incident-aging"),
    path("incidents/bulk/", views.IncidentBulkApi.as_view(), name="incident-bulk"),
    path("incidents/<int:incident_id>/", views.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<int:incident_id>/assign/", views.IncidentAssignApi.as_view(), name="incident-assign"),
    path(
        "incidents/<int:incident_id>/acknowledge/", views.IncidentAcknowledgeApi.as_view(), name="incident-acknowledge"
    ),
    path("incidents/<int:incident_id>/resolve/", views.IncidentResolveApi.as_view(), name="incident-resolve"),
    path("incidents/<int:incident_id>/dismiss/", views.IncidentDismissApi.as_view(), name="incident-dismiss"),
    path("incidents/<int:incident_id>/reopen/", views.IncidentReopenApi.as_view(), name="incident-reopen"),
    path("incidents/<int:incident_id>/retry/", views.IncidentRetryApi.as_view(), name="incident-retry"),
]
