"""Journal fixtures: the seeded chart of accounts and manual-entry policy survive transactional tests."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection

_seed = importlib.import_module("apps.journal.migrations.0003_chart_of_accounts").seed


class _Editor:
    connection = connection


@pytest.fixture(autouse=True)
def _chart_of_accounts(request):
    """Transactional tests flush the tables the migrations seeded; put the chart back (idempotent)."""
    marker = request.node.get_closest_marker("django_db")
    wants_tx = "transactional_db" in request.fixturenames or (marker is not None and marker.kwargs.get("transaction"))
    if wants_tx:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    _seed(django_apps, _Editor())
