"""Shared fixtures: users, API clients, stock helpers, a real Celery worker."""

import threading
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.stock.services import ReceiptLine, stock_receive
from tests.factories import LocationFactory, ProductFactory, StoreFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def api(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="WH1", priority=1)


@pytest.fixture
def store(db):
    return StoreFactory(code="ST1", priority=50)


@pytest.fixture
def product(db):
    return ProductFactory(sku="SKU-A")


@pytest.fixture
def receive():
    """receive(location, product, quantity) posts a receipt through the stock service."""

    def _receive(location, product, quantity, unit_cost="4.00", reference="test receipt"):
        return stock_receive(
            location=location,
            reference=reference,
            lines=[ReceiptLine(product=product, quantity=quantity, unit_cost=Decimal(unit_cost))],
        )

    return _receive


@pytest.fixture
def make_products(db):
    def _make(n):
        return [ProductFactory() for _ in range(n)]

    return _make


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (in a thread of this process) consuming from the test Redis."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from retailops.celery import app

    def close_thread_connections(**_kwargs):
        # The worker thread's own database connection: Celery reuses it between tasks
        # (CELERY_DB_REUSE_MAX), and left open it would outlive the test and block dropping the
        # test database at the end of the run. Never the test's own connection (main thread).
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()

    app.conf.broker_connection_retry_on_startup = True
    task_postrun.connect(close_thread_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10) as w:
            yield w
    finally:
        task_postrun.disconnect(close_thread_connections)
