"""Reconciliation in the staff portal: upload, run list, run page with progress fragment and exceptions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.reconciliation.models import ReconciliationRun
from apps.reconciliation.services import reconciliation_run_execute
from tests.approvals.helpers import person
from tests.reconciliation.helpers import counterparts, fixture

pytestmark = pytest.mark.django_db

BASE = "/reconciliation/runs/"


def test_finance_uploads_a_file_and_sees_the_run_then_its_exceptions(client):
    counterparts()
    clerk = person("fiona", "finance")
    client.force_login(clerk)
    assert "Upload a file" in client.get(BASE).content.decode()

    r = client.post(
        f"{BASE}upload/",
        {"kind": "settlement", "file": SimpleUploadedFile("payouts.csv", fixture("stripe_payouts.csv"))},
    )

    run = ReconciliationRun.objects.get()
    assert (r.status_code, r["Location"]) == (302, f"{BASE}{run.pk}/")
    queued = client.get(f"{BASE}{run.pk}/").content.decode()
    assert 'data-done="0"' in queued and "Queued" in queued
    reconciliation_run_execute(run_id=run.pk)
    fragment = client.get(f"{BASE}{run.pk}/progress/").content.decode()
    assert 'data-done="1"' in fragment and "4 matched, 1 unmatched, 3 mismatched" in fragment
    page = client.get(f"{BASE}{run.pk}/").content.decode()
    for text in ("txn_1A3", "txn_1A4", "txn_1B2", "txn_1B3", "no order with this payment reference"):
        assert text in page
    assert "txn_1A1" not in page
    assert "txn_1A1" in client.get(f"{BASE}{run.pk}/", {"show": "all"}).content.decode()
    assert f"#{run.pk}" in client.get(BASE).content.decode()


def test_a_duplicate_upload_in_the_portal_leads_to_the_earlier_run(client):
    client.force_login(person("fiona", "finance"))
    first = client.post(
        f"{BASE}upload/", {"kind": "settlement", "file": SimpleUploadedFile("a.csv", fixture("stripe_payouts.csv"))}
    )

    again = client.post(
        f"{BASE}upload/", {"kind": "settlement", "file": SimpleUploadedFile("b.csv", fixture("stripe_payouts.csv"))}
    )

    assert again["Location"] == first["Location"]
    assert ReconciliationRun.objects.count() == 1


def test_a_bad_file_in_the_portal_is_an_error_message_and_nothing_is_stored(client):
    client.force_login(person("fiona", "finance"))

    r = client.post(
        f"{BASE}upload/", {"kind": "bank_statement", "file": SimpleUploadedFile("x.xml", b"no xml")}, follow=True
    )

    assert "The file is not well-formed XML" in r.content.decode()
    assert not ReconciliationRun.objects.exists()


def test_store_managers_have_no_reconciliation_pages(client):
    client.force_login(person("sam", "store_manager"))

    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}upload/").status_code == 403


def test_the_exception_queue_links_a_runs_incidents_to_the_run_page(client):
    from apps.core.models import Incident
    from apps.core.selectors import incident_subject_url
    from tests.reconciliation.helpers import run_file

    counterparts()
    run = run_file("settlement", fixture("stripe_payouts.csv"))
    bank = run_file("bank_statement", fixture("camt053_001_08.xml"))

    exceptions = Incident.objects.get(kind="reconciliation.settlement_exceptions")
    missing = Incident.objects.get(kind="reconciliation.payout_not_in_bank")
    assert incident_subject_url(exceptions) == f"{BASE}{run.pk}/"
    assert incident_subject_url(missing) == f"{BASE}{run.pk}/"  # the payout's settlement run
    assert incident_subject_url(Incident.objects.get(kind="reconciliation.bank_exceptions")) == f"{BASE}{bank.pk}/"
