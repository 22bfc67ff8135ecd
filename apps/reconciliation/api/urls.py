"""Reconciliation API routes."""

from django.urls import path

from apps.reconciliation.api import views

urlpatterns = [
    path(
        "reconciliation/settlements/",
        views.ReconciliationSettlementImportApi.as_view(),
        name="reconciliation-settlements",
    ),
    path(
        "reconciliation/bank-statements/",
        views.ReconciliationBankStatementImportApi.as_view(),
        name="reconciliation-bank-statements",
    ),
    path("reconciliation/runs/", views.ReconciliationRunListApi.as_view(), name="reconciliation-run-list"),
    path(
        "reconciliation/runs/<int:run_id>/",
        views.ReconciliationRunDetailApi.as_view(),
        name="reconciliation-run-detail",
    ),
    path(
        "reconciliation/runs/<int:run_id>/lines/",
        views.ReconciliationRunLinesApi.as_view(),
        name="reconciliation-run-lines",
    ),
]
