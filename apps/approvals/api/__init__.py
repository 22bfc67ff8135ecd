"""Approval API."""
