"""Card settlements: the Stripe itemized payout reconciliation CSV imported, matched, settled per payout."""

from decimal import Decimal

import pytest

from apps.core.models import Incident, OutboxEvent
from apps.reconciliation.models import Payout, ReconciliationRun, SettlementLine
from apps.reconciliation.parsing import settlement_parse
from apps.reconciliation.services import reconciliation_run_execute, settlement_lines_store
from tests.reconciliation.factories import OrderFactory, ReturnFactory
from tests.reconciliation.helpers import counterparts, fixture, run_file

pytestmark = pytest.mark.django_db

PAYOUT_A = {
    "payout_id": "po_1PAYOUTA",
    "currency": "USD",
    "charges": "255.00",
    "refunds": "20.00",
    "fees": "10.60",
    "net": "224.40",
    "paid_on": "2026-05-04",
}
PAYOUT_B = {
    "payout_id": "po_1PAYOUTB",
    "currency": "USD",
    "charges": "260.00",
    "refunds": "45.00",
    "fees": "8.14",
    "net": "206.86",
    "paid_on": "2026-05-05",
}


def line_outcomes(run):
    return {
        ln.balance_transaction_id: (ln.status, ln.order_id or ln.refund_return_id, ln.note)
        for ln in SettlementLine.objects.filter(run=run)
    }


def test_each_line_is_matched_mismatched_or_unmatched_against_orders_and_refunds():
    # given the orders and returns behind the file
    cp = counterparts()

    # when the file is imported and matched
    run = run_file("settlement", fixture("stripe_payouts.csv"), "payouts.csv")

    # then every outcome is there, with why
    assert line_outcomes(run) == {
        "txn_1A1": ("matched", cp["A1"].pk, ""),
        "txn_1A2": ("matched", cp["A2"].pk, ""),
        "txn_1A3": ("mismatched", cp["A3"].pk, f"order RO-{cp['A3'].pk:08d} expects 80.00 USD"),
        "txn_1A4": ("unmatched", None, "no order with this payment reference"),
        "txn_1A5": ("matched", cp["A5"].pk, ""),
        "txn_1A6": ("not_applicable", None, ""),
        "txn_1B1": ("matched", cp["B1"].pk, ""),
        "txn_1B2": ("mismatched", cp["B2"].pk, f"return RMA-{cp['B2'].pk:08d} refunded 40.00 USD"),
        "txn_1B3": ("mismatched", cp["B3"].pk, f"order RO-{cp['B3'].pk:08d} expects 60.00 EUR"),
    }
    assert (run.status, run.lines, run.duplicates, run.matched, run.unmatched, run.mismatched) == (
        "succeeded",
        9,
        0,
        4,
        1,
        3,
    )
    assert (run.processed, run.total, run.errors, run.failure) == (9, 9, [], "")
    assert run.started_at is not None and run.finished_at >= run.started_at


def test_a_reference_several_orders_or_returns_share_links_none_of_them():
    # given a second order with A1's payment intent and a second return with B2's refund id
    cp = counterparts()
    OrderFactory(payment_reference="pi_1A1", total=Decimal("100.00"))
    ReturnFactory(refund_payment_reference="re_1B2", refund_amount=Decimal("45.00"))

    run = run_file("settlement", fixture("stripe_payouts.csv"), "payouts.csv")

    # then those two lines are exceptions that say why, the others match as before
    outcomes = line_outcomes(run)
    assert outcomes["txn_1A1"] == ("mismatched", None, "2 orders share this payment reference")
    assert outcomes["txn_1B2"] == ("mismatched", None, "2 returns share this refund reference")
    assert outcomes["txn_1A2"] == ("matched", cp["A2"].pk, "")
    assert (run.matched, run.unmatched, run.mismatched) == (3, 1, 4)


def test_one_settled_event_per_payout_with_the_exact_contract():
    counterparts()

    run = run_file("settlement", fixture("stripe_payouts.csv"))

    events = OutboxEvent.objects.filter(name="reconciliation.payout.settled").order_by("aggregate_id")
    assert [(e.aggregate_type, e.aggregate_id, e.payload) for e in events] == [
        ("reconciliation.payout", "po_1PAYOUTA", {**PAYOUT_A, "run_id": run.pk}),
        ("reconciliation.payout", "po_1PAYOUTB", {**PAYOUT_B, "run_id": run.pk}),
    ]
    for e in events:  # the journal's equation: net + fees = charges - refunds
        p = e.payload
        assert Decimal(p["net"]) + Decimal(p["fees"]) == Decimal(p["charges"]) - Decimal(p["refunds"])
    assert list(Payout.objects.order_by("payout_id").values_list("payout_id", "lines", "other", "status")) == [
        ("po_1PAYOUTA", 6, Decimal("0.00"), "awaiting_bank"),
        ("po_1PAYOUTB", 3, Decimal("0.00"), "awaiting_bank"),
    ]


def test_exceptions_become_one_finance_incident_per_run_listing_the_lines():
    counterparts()

    run = run_file("settlement", fixture("stripe_payouts.csv"))

    incident = Incident.objects.get()
    assert (incident.kind, incident.owner_team, incident.dedupe_key, incident.subject_id) == (
        "reconciliation.settlement_exceptions",
        "finance",
        f"recon-run-exceptions:{run.pk}",
        str(run.pk),
    )
    assert incident.title == f"Settlement run #{run.pk}: 1 unmatched, 3 mismatched line(s)"
    assert [(ln["line_number"], ln["balance_transaction_id"], ln["status"]) for ln in incident.details["lines"]] == [
        (4, "txn_1A3", "mismatched"),
        (5, "txn_1A4", "unmatched"),
        (9, "txn_1B2", "mismatched"),
        (10, "txn_1B3", "mismatched"),
    ]


def test_running_the_task_again_changes_nothing():
    counterparts()
    run = run_file("settlement", fixture("stripe_payouts.csv"))
    before = ReconciliationRun.objects.values().get(pk=run.pk)

    again = reconciliation_run_execute(run_id=run.pk)

    assert again.status == "succeeded"
    assert ReconciliationRun.objects.values().get(pk=run.pk) == before
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2
    assert SettlementLine.objects.count() == 9
    assert Incident.objects.get().occurrences == 1


def test_a_run_left_running_by_a_dead_worker_resumes_without_doubling():
    # given a worker that stored the first 4 lines and died
    counterparts()
    from apps.reconciliation.services import reconciliation_run_create

    content = fixture("stripe_payouts.csv")
    run = reconciliation_run_create(kind="settlement", file_name="p.csv", content=content, actor=None)
    rows, _ = settlement_parse(content)
    settlement_lines_store(run_id=run.pk, rows=rows[:4])
    run.start()
    run.save()

    # when the task is delivered again
    reconciliation_run_execute(run_id=run.pk)

    # then the run completes exactly once
    run.refresh_from_db()
    assert (run.status, run.attempts, run.lines, run.duplicates, run.matched) == ("succeeded", 2, 9, 0, 4)
    assert SettlementLine.objects.filter(run=run).count() == 9
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2


def test_the_same_lines_in_another_file_are_not_imported_or_settled_twice():
    # given the file was imported once
    counterparts()
    run_file("settlement", fixture("stripe_payouts.csv"))
    # and the processor's next export repeats the same transactions, columns reordered, one more column
    header, *rows = fixture("stripe_payouts.csv").decode().splitlines()
    cols = header.split(",")
    import csv
    import io

    src = list(csv.reader(io.StringIO("\n".join([header, *rows]))))
    order = list(reversed(range(len(cols))))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cols[i] for i in order] + ["exported_by"])
    for r in src[1:]:
        writer.writerow([r[i] for i in order] + ["finance-bot"])

    # when it is imported
    second = run_file("settlement", out.getvalue().encode(), "again.csv")

    # then nothing new was stored or emitted
    assert (second.status, second.lines, second.duplicates, second.matched) == ("succeeded", 9, 9, 0)
    assert SettlementLine.objects.count() == 9
    assert not SettlementLine.objects.filter(run=second).exists()
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2
    assert second.summary["payouts_created"] == 0


def test_bad_rows_are_reported_with_their_line_numbers_and_the_rest_is_imported():
    content = (
        b"automatic_payout_id,balance_transaction_id,currency,gross,fee,net,reporting_category,payment_intent_id\n"
        b"po_X,txn_ok,usd,10.00,0.59,9.41,charge,pi_nobody\n"
        b"po_X,txn_bad_amount,usd,ten,0.59,9.41,charge,pi_1\n"
        b",txn_no_payout,usd,10.00,0.59,9.41,charge,pi_2\n"
        b"po_X,txn_net,usd,10.00,0.59,9.40,charge,pi_3\n"
        b"po_X,txn_ccy,dollars,10.00,0.59,9.41,charge,pi_4\n"
        b"po_X,txn_ok,usd,10.00,0.59,9.41,charge,pi_nobody\n"
        b"po_X,txn_cents,usd,10.001,0.59,9.411,charge,pi_5\n"
        b"\n"
    )

    run = run_file("settlement", content)

    assert run.status == "succeeded"
    assert run.errors == [
        {"line": 3, "message": "gross 'ten' is not a number"},
        {"line": 4, "message": "automatic_payout_id is empty"},
        {"line": 5, "message": "net 9.40 is not gross 10.00 minus fee 0.59"},
        {"line": 6, "message": "currency 'dollars' is not a 3-letter code"},
        {"line": 7, "message": "balance_transaction_id txn_ok repeats in the file"},
        {"line": 8, "message": "gross '10.001' has more than 2 decimals"},
    ]
    assert list(SettlementLine.objects.values_list("balance_transaction_id", "status")) == [("txn_ok", "unmatched")]
    assert (run.lines, run.unmatched) == (1, 1)


def test_disputes_and_adjustments_are_folded_into_fees_and_flagged():
    content = (
        b"automatic_payout_id,balance_transaction_id,available_on_utc,currency,gross,fee,net,reporting_category\n"
        b"po_ADJ,txn_c,2026-05-10 00:00:00,usd,100.00,3.20,96.80,charge\n"
        b"po_ADJ,txn_d,2026-05-10 00:00:00,usd,-15.00,15.00,-30.00,dispute\n"
    )

    run = run_file("settlement", content)

    event = OutboxEvent.objects.get(name="reconciliation.payout.settled")
    assert event.payload == {
        "payout_id": "po_ADJ",
        "currency": "USD",
        "charges": "100.00",
        "refunds": "0.00",
        "fees": "33.20",
        "net": "66.80",
        "paid_on": "2026-05-10",
        "run_id": run.pk,
    }
    assert Payout.objects.get().other == Decimal("-15.00")
    assert set(Incident.objects.values_list("kind", flat=True)) == {
        "reconciliation.payout_adjusted",
        "reconciliation.settlement_exceptions",
    }
