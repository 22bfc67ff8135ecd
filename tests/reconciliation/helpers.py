"""Fixture files and a one-call way to import one through the real services."""

from decimal import Decimal
from pathlib import Path

from apps.reconciliation.models import ReconciliationRun
from apps.reconciliation.services import reconciliation_run_create, reconciliation_run_execute
from tests.reconciliation.factories import OrderFactory, ReturnFactory

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run_file(kind: str, content: bytes, name: str = "upload") -> ReconciliationRun:
    """Create the run as an upload would, then execute it as the worker would."""
    run = reconciliation_run_create(kind=kind, file_name=name, content=content, actor=None)
    reconciliation_run_execute(run_id=run.pk)
    return ReconciliationRun.objects.get(pk=run.pk)


def counterparts() -> dict:
    """The orders and returns behind stripe_payouts.csv (see the comment per line)."""
    return {
        "A1": OrderFactory(payment_reference="pi_1A1", total=Decimal("100.00")),  # matched by payment intent
        "A2": OrderFactory(payment_reference="ch_1A2", total=Decimal("50.00")),  # matched by charge id
        "A3": OrderFactory(payment_reference="pi_1A3", total=Decimal("80.00"), payment_amount=Decimal("80.00")),
        "A5": ReturnFactory(refund_payment_reference="re_1A5", refund_amount=Decimal("20.00")),
        "B1": OrderFactory(payment_reference="pi_1B1", total=Decimal("210.00"), payment_amount=Decimal("200.00")),
        "B2": ReturnFactory(refund_payment_reference="re_1B2", refund_amount=Decimal("40.00")),
        "B3": OrderFactory(payment_reference="pi_1B3", total=Decimal("60.00"), currency="EUR"),
    }
