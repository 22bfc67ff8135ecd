"""Suppliers API routes."""

urlpatterns: list = []
