"""Reconciliation API: uploads (202 and a run id), refusals that write nothing, run detail, lines and list."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.services import user_grant_role
from apps.core.models import OutboxEvent
from apps.reconciliation.models import ReconciliationRun, SettlementLine
from apps.reconciliation.services import reconciliation_run_execute
from tests.factories import UserFactory
from tests.reconciliation.helpers import counterparts, fixture

pytestmark = pytest.mark.django_db

SETTLEMENTS = "/api/v1/reconciliation/settlements/"
STATEMENTS = "/api/v1/reconciliation/bank-statements/"


def upload(client, url, content, name="file.csv"):
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def assert_nothing_written():
    assert not ReconciliationRun.objects.exists()
    assert not SettlementLine.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_finance_user_uploads_a_settlement_file_and_gets_the_queued_run(db):
    clerk = UserFactory(username="clerk")
    user_grant_role(user=clerk, role="finance")

    r = upload(client_for(clerk), SETTLEMENTS, fixture("stripe_payouts.csv"), "payouts.csv")

    assert r.status_code == 202
    run = ReconciliationRun.objects.get()
    assert r.json() == {"run_id": run.pk, "status": "queued", "url": f"/api/v1/reconciliation/runs/{run.pk}/"}
    assert (run.kind, run.file_name, run.file_size, run.created_by) == (
        "settlement",
        "payouts.csv",
        len(fixture("stripe_payouts.csv")),
        clerk,
    )
    assert bytes(run.content) == fixture("stripe_payouts.csv")


def test_a_bank_statement_upload_is_accepted(api):
    r = upload(api, STATEMENTS, fixture("camt053_001_08.xml"), "stmt.xml")

    assert r.status_code == 202
    assert ReconciliationRun.objects.get().kind == "bank_statement"


def test_the_same_file_again_is_409_with_the_earlier_run(api):
    first = upload(api, SETTLEMENTS, fixture("stripe_payouts.csv")).json()["run_id"]

    r = upload(api, SETTLEMENTS, fixture("stripe_payouts.csv"), "renamed.csv")

    assert r.status_code == 409
    assert r.json() == {
        "error": "duplicate_file",
        "detail": f"This file was already imported by run #{first}",
        "run_id": first,
    }
    assert ReconciliationRun.objects.count() == 1


def test_a_file_whose_run_failed_may_be_uploaded_again(api):
    content = fixture("camt053_001_02.xml").replace(b"1031.25", b"1030.25")
    failed = upload(api, STATEMENTS, content).json()["run_id"]
    reconciliation_run_execute(run_id=failed)

    r = upload(api, STATEMENTS, content)

    assert r.status_code == 202
    assert r.json()["run_id"] != failed


@pytest.mark.parametrize(
    "url, body, code",
    [
        pytest.param(SETTLEMENTS, {}, "invalid", id="no-file"),
        pytest.param(SETTLEMENTS, {"file": ("x.csv", b"")}, "invalid", id="empty-file"),
        pytest.param(
            SETTLEMENTS, {"file": ("x.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}, "invalid_file", id="png"
        ),
        pytest.param(SETTLEMENTS, {"file": ("x.csv", b"\xff\xfe garbage \xc3\x28")}, "invalid_file", id="not-utf8"),
        pytest.param(SETTLEMENTS, {"file": ("x.csv", b"hello,world\n1,2\n")}, "invalid_file", id="garbage-csv"),
        pytest.param(SETTLEMENTS, {"file": ("x.xml", b"<Document/>")}, "invalid_file", id="xml-as-settlement"),
        pytest.param(STATEMENTS, {"file": ("x.xml", b"not xml at all")}, "invalid_file", id="garbage-xml"),
        pytest.param(STATEMENTS, {"file": ("x.csv", b"a,b\n1,2\n")}, "invalid_file", id="csv-as-statement"),
    ],
)
def test_bad_uploads_are_400_and_write_nothing(api, url, body, code):
    data = {k: SimpleUploadedFile(*v) for k, v in body.items()}

    r = api.post(url, data, format="multipart")

    assert r.status_code == 400
    assert r.json()["error"] == code
    assert_nothing_written()


def test_a_garbage_csv_says_which_columns_are_missing(api):
    r = upload(api, SETTLEMENTS, b"hello,world\n1,2\n")

    assert r.json()["detail"] == (
        "Not a Stripe payout reconciliation CSV: missing column(s) automatic_payout_id, balance_transaction_id, "
        "currency, gross, fee, net, reporting_category"
    )


def test_a_file_over_the_limit_is_413_and_writes_nothing(api, settings):
    settings.RECONCILIATION_MAX_UPLOAD_BYTES = 100

    r = upload(api, SETTLEMENTS, fixture("stripe_payouts.csv"))

    assert r.status_code == 413
    assert r.json()["error"] == "file_too_large"
    assert_nothing_written()


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(api, settings):
    settings.RECONCILIATION_MAX_UPLOAD_BYTES = 10

    r = upload(api, SETTLEMENTS, b"x" * 200_000)

    assert r.status_code == 413
    assert r.json()["detail"].startswith("The request is ")
    assert_nothing_written()


def test_json_instead_of_multipart_is_415(api):
    r = api.post(SETTLEMENTS, {"file": "a,b"}, format="json")

    assert r.status_code == 415
    assert_nothing_written()


@pytest.mark.parametrize("role", ["store_manager", "approver", "integration"])
def test_other_roles_may_not_upload_or_read_runs(db, role):
    user = UserFactory(username=f"u-{role}")
    user_grant_role(user=user, role=role)
    client = client_for(user)

    assert upload(client, SETTLEMENTS, fixture("stripe_payouts.csv")).status_code == 403
    assert client.get("/api/v1/reconciliation/runs/").status_code == 403
    assert_nothing_written()


def test_the_run_shows_progress_counts_errors_and_links_to_its_exceptions(api):
    counterparts()
    run_id = upload(api, SETTLEMENTS, fixture("stripe_payouts.csv")).json()["run_id"]
    queued = api.get(f"/api/v1/reconciliation/runs/{run_id}/").json()
    assert (queued["status"], queued["progress"]) == ("queued", {"processed": 0, "total": 0, "percent": 0})

    reconciliation_run_execute(run_id=run_id)
    r = api.get(f"/api/v1/reconciliation/runs/{run_id}/")

    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["progress"], body["counts"]) == (
        "succeeded",
        {"processed": 9, "total": 9, "percent": 100},
        {"lines": 9, "duplicates": 0, "matched": 4, "unmatched": 1, "mismatched": 3, "rejected": 0},
    )
    assert (body["errors"], body["failure"], body["exceptions_url"]) == (
        [],
        "",
        f"/api/v1/reconciliation/runs/{run_id}/lines/",
    )
    lines = api.get(body["exceptions_url"]).json()
    assert [(ln["line"], ln["reference"], ln["status"], ln["amount"]) for ln in lines["results"]] == [
        (4, "txn_1A3", "mismatched", "75.00"),
        (5, "txn_1A4", "unmatched", "30.00"),
        (9, "txn_1B2", "mismatched", "-45.00"),
        (10, "txn_1B3", "mismatched", "60.00"),
    ]
    every = api.get(body["exceptions_url"], {"status": "all"}).json()
    assert every["count"] == 9
    assert api.get(body["exceptions_url"], {"status": "lost"}).status_code == 400


def test_an_unknown_run_is_404(api):
    assert api.get("/api/v1/reconciliation/runs/999999/").status_code == 404
    assert api.get("/api/v1/reconciliation/runs/999999/lines/").status_code == 404


@pytest.mark.parametrize("n", [2, 20])
def test_the_run_list_query_count_does_not_grow_with_page_size(api, django_assert_max_num_queries, n):
    for i in range(n):
        assert upload(api, SETTLEMENTS, fixture("stripe_payouts.csv") + f"\n# {i}".encode()).status_code == 202

    with django_assert_max_num_queries(3):  # token auth, count, runs (with their uploader)
        r = api.get("/api/v1/reconciliation/runs/", {"kind": "settlement", "status": "queued"})

    assert r.json()["count"] == n
    assert [run["id"] for run in r.json()["results"]] == list(
        ReconciliationRun.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    )


@pytest.mark.parametrize("kind", ["settlement", "bank_statement"])
def test_the_lines_query_count_does_not_grow_with_page_size(api, django_assert_max_num_queries, kind):
    from tests.reconciliation.helpers import run_file

    counterparts()
    run_file("settlement", fixture("stripe_payouts.csv"))
    run = run_file("bank_statement", fixture("camt053_001_02.xml")) if kind == "bank_statement" else None
    run = run or ReconciliationRun.objects.get(kind="settlement")

    with django_assert_max_num_queries(4):  # token auth, run, count, lines (with their payout)
        r = api.get(f"/api/v1/reconciliation/runs/{run.pk}/lines/", {"status": "all", "page_size": 50})

    assert r.json()["count"] == {"settlement": 9, "bank_statement": 4}[kind]
