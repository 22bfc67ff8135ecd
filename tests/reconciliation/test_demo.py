"""The demo's reconciliation: a payout file and a bank statement for the demo orders, a few exceptions."""

import random

import pytest

from apps.core.models import Incident, OutboxEvent
from apps.reconciliation.demo import seed
from apps.reconciliation.models import BankEntry, Payout
from tests.reconciliation.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_demo_reconciles_the_card_orders_and_leaves_a_few_exceptions():
    for i in range(10):
        OrderFactory(payment_reference=f"pay_{i:012x}", total=10 + i, payment_amount=10 + i)

    settlement, statement = seed(rng=random.Random(7), actor=None)

    assert (settlement.status, settlement.matched, settlement.unmatched, settlement.mismatched) == (
        "succeeded",
        9,
        2,
        1,
    )
    assert (statement.status, statement.matched, statement.unmatched, statement.mismatched) == ("succeeded", 2, 1, 0)
    assert set(Payout.objects.values_list("status", flat=True)) == {"in_bank"}
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2
    assert BankEntry.objects.count() == 4
    assert sorted(Incident.objects.values_list("kind", flat=True)) == [
        "reconciliation.bank_exceptions",
        "reconciliation.settlement_exceptions",
    ]
