"""Concurrent returns of one order on real PostgreSQL with real threads: never more than was shipped."""

import pytest
from django.db import connection
from django.db.models import Sum

from apps.core.errors import DomainError
from apps.returns import services
from apps.returns.models import ReturnLine
from tests.factories import LocationFactory, ProductFactory, UserFactory
from tests.orders.test_concurrency import run_concurrently
from tests.returns.helpers import rl, shipped_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_returns_of_one_unit_each_take_back_exactly_the_five_shipped(receive):
    assert connection.vendor == "postgresql"
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="RET")
    receive(warehouse, product, 5)
    order = shipped_order([(product, 5)])
    clerk = UserFactory(username="clerk", is_superuser=True)

    def attempt(i):
        return services.return_create(
            order_id=order.pk, channel="store", reason="damaged", lines=rl(("RET", 1)), actor=clerk
        ).status

    results = run_concurrently(attempt, [(i,) for i in range(20)], workers=10)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(results) - len(refused) == 5
    assert {e.code for e in refused} == {"over_return"}
    assert ReturnLine.objects.filter(ret__order=order).aggregate(n=Sum("quantity"))["n"] == 5
