"""Reconciliation API routes."""

urlpatterns: list = []
