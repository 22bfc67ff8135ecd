"""Reconciliation services: create a run from an upload, execute it (import, match, payouts, incidents).

Matching is set-based: one SQL statement per rule over the whole run, never a Python loop per line.
It reads orders_order and returns_return with read-only joins: an app-level selector would hand
us Python objects per line, which is exactly the per-row cost that 100,000 lines cannot afford;
nothing here writes to another app's tables.
"""

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from apps.core.errors import DomainError, NotFound
from apps.core.outbox import Event, outbox_emit
from apps.core.services import incident_raise
from apps.orders.models import Order
from apps.reconciliation.models import BankEntry, Payout, PayoutStatus, ReconciliationRun, SettlementLine
from apps.reconciliation.parsing import (
    FileRejected,
    SettlementRow,
    Statement,
    settlement_check,
    settlement_parse,
    statement_parse,
)
from apps.reconciliation.states import EXCEPTIONS, MatchStatus, RunKind, RunStatus
from apps.returns.models import Return

logger = logging.getLogger(__name__)


# --- SQL dialect --------------------------------------------------------------------------------------
# The matching SQL is written for PostgreSQL; these few expressions differ on SQLite, which only the
# embedded demo (`make demo` without DATABASE_URL) uses. Both take UPDATE … FROM, FILTER, RETURNING
# and window functions.


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _zpad8(expr: str) -> str:
    return f"lpad(CAST({expr} AS text), 8, '0')" if _pg() else f"printf('%%08d', {expr})"


def _money_text(expr: str) -> str:
    return f"CAST({expr} AS text)" if _pg() else f"printf('%%.2f', {expr})"


def _add_days(expr: str, param: str, sign: str) -> str:
    if _pg():
        return f"({expr} {sign} CAST(%({param})s AS integer))"
    return f"date({expr}, '{sign}' || %({param})s || ' days')"


def _day_gap(a: str, b: str) -> str:
    return f"abs({a} - {b})" if _pg() else f"abs(julianday({a}) - julianday({b}))"


def _contains(haystack: str, needle: str) -> str:
    return f"strpos({haystack}, {needle}) > 0" if _pg() else f"instr({haystack}, {needle}) > 0"


def _date_of(expr: str) -> str:
    return f"CAST({expr} AS date)" if _pg() else f"date({expr})"


PAYOUT_SETTLED = "reconciliation.payout.settled"
LISTED_IN_INCIDENT = 50
_COUNTED = (MatchStatus.MATCHED, MatchStatus.UNMATCHED, MatchStatus.MISMATCHED)
_ADVISORY_CLASS = 7406  # pg advisory lock namespace of reconciliation runs


class InvalidFile(DomainError):
    """The upload is not a readable file of the expected format: bad input, nothing written."""

    status_code = 400
    code = "invalid_file"


class FileTooLarge(DomainError):
    status_code = 413
    code = "file_too_large"


# --- creating a run --------------------------------------------------------------------------------


def reconciliation_run_create(
    *, kind: str, file_name: str, content: bytes, actor: AbstractBaseUser | AnonymousUser | None
) -> ReconciliationRun:
    """Check the file's format, store it with a queued run and queue the job after commit.

    Refuses (400) a file of the wrong format, (413) one over RECONCILIATION_MAX_UPLOAD_BYTES and
    (409 `duplicate_file` with `run_id`) the same bytes already imported by a run that did not fail.
    """
    if kind not in RunKind.values:
        raise InvalidFile(f"Unknown run kind {kind!r}")
    limit = settings.RECONCILIATION_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise FileTooLarge(f"The file is {len(content)} bytes; the limit is {limit} bytes")
    if not content:
        raise InvalidFile("The file is empty")
    try:
        if kind == RunKind.SETTLEMENT:
            settlement_check(content)
        else:
            statement_parse(content)
    except FileRejected as exc:
        raise InvalidFile(str(exc)) from None
    sha = hashlib.sha256(content).hexdigest()
    earlier = _earlier_run(kind, sha)
    if earlier is not None:
        raise _duplicate(earlier)
    run = ReconciliationRun(
        kind=kind,
        file_name=(file_name or "upload")[:255],
        file_sha256=sha,
        file_size=len(content),
        content=content,
        created_by=actor if isinstance(actor, AbstractBaseUser) else None,
    )
    try:
        with transaction.atomic():
            run.save(force_insert=True)
    except IntegrityError:
        # The same file was uploaded at the same moment by someone else: theirs wins.
        earlier = _earlier_run(kind, sha)
        raise _duplicate(earlier) if earlier is not None else DomainError("Please retry the upload") from None
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _earlier_run(kind: str, sha: str) -> int | None:
    return (
        ReconciliationRun.objects.filter(kind=kind, file_sha256=sha)
        .exclude(status=RunStatus.FAILED)
        .values_list("pk", flat=True)
        .first()
    )


def _duplicate(run_id: int) -> DomainError:
    return DomainError(
        f"This file was already imported by run #{run_id}", code="duplicate_file", extra={"run_id": run_id}
    )


def _enqueue(run_id: int) -> None:
    from apps.reconciliation.tasks import reconciliation_run_execute_task

    try:
        reconciliation_run_execute_task.delay(run_id)
    except Exception:  # noqa: BLE001 - the run stays queued; the periodic sweep starts it later
        logger.warning("could not queue reconciliation run %s; the sweep will pick it up", run_id, exc_info=True)


def reconciliation_runs_resume() -> int:
    """Periodic sweep: queue again every run still queued after a minute (a lost broker message)."""
    cutoff = timezone.now() - timedelta(minutes=1)
    ids = list(
        ReconciliationRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    for run_id in ids:
        _enqueue(run_id)
    return len(ids)


# --- executing a run ---------------------------------------------------------------------------------


@contextmanager
def _exclusive(run_id: int) -> Iterator[bool]:
    """A session advisory lock on the run: a second worker handed the same run does nothing."""
    if not _pg():
        yield True  # SQLite (the embedded demo) lets one writer in at a time anyway
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ADVISORY_CLASS, run_id])
        got = cur.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_ADVISORY_CLASS, run_id])


def reconciliation_run_execute(*, run_id: int) -> ReconciliationRun | None:
    """Import and match the run's file. Safe to run twice: a finished run is left alone, a run left
    running by a dead worker is resumed (lines and payouts are unique, so nothing doubles)."""
    with _exclusive(run_id) as got:
        if not got:
            return None
        with transaction.atomic():
            run = ReconciliationRun.objects.select_for_update().defer("content").filter(pk=run_id).first()
            if run is None:
                raise NotFound(f"Reconciliation run {run_id} does not exist")
            if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                return run
            run.start()
            run.save(update_fields=["status", "started_at", "attempts"])
        content = bytes(ReconciliationRun.objects.values_list("content", flat=True).get(pk=run_id))
        try:
            if run.kind == RunKind.SETTLEMENT:
                _settlement_execute(run, content)
            else:
                _statement_execute(run, content)
        except FileRejected as exc:
            _run_fail(run_id, str(exc), kind="reconciliation.file_rejected")
        except OperationalError:
            raise  # the database hiccupped: the task retries and resumes
        except Exception as exc:  # noqa: BLE001 - a run must end, not stay running forever
            logger.exception("reconciliation run %s failed", run_id)
            _run_fail(run_id, f"Internal error: {type(exc).__name__}: {exc}"[:2000], kind="reconciliation.run_failed")
    return ReconciliationRun.objects.defer("content").get(pk=run_id)


def _run_fail(run_id: int, reason: str, *, kind: str) -> None:
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().defer("content").get(pk=run_id)
        run.fail(reason=reason)
        run.save(update_fields=["status", "finished_at", "failure"])
        incident_raise(
            kind=kind,
            title=f"Reconciliation run #{run.pk} ({run.file_name}) failed",
            severity="high",
            subject=run,
            details={"run_id": run.pk, "file": run.file_name, "reason": reason},
            dedupe_key=f"recon-run-failed:{run.pk}",
            owner_team="finance",
        )


def _progress(run_id: int, **fields: Any) -> None:
    ReconciliationRun.objects.filter(pk=run_id).update(**fields)


# --- settlements ---------------------------------------------------------------------------------------

_STAGE_COLUMNS = (
    "line_number",
    "balance_transaction_id",
    "automatic_payout_id",
    "created",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "charge_id",
    "payment_intent_id",
    "description",
)


def _settlement_execute(run: ReconciliationRun, content: bytes) -> None:
    rows, errors = settlement_parse(content)
    _progress(
        run.pk,
        total=len(rows),
        processed=0,
        lines=len(rows),
        errors=[{"line": e.line, "message": e.message} for e in errors[:1000]],
    )
    chunk = settings.RECONCILIATION_IMPORT_CHUNK
    for start in range(0, len(rows), chunk):
        with transaction.atomic():
            settlement_lines_store(run_id=run.pk, rows=rows[start : start + chunk])
            _progress(run.pk, processed=min(start + chunk, len(rows)))
    if _pg():
        with connection.cursor() as cur:
            # Fresh statistics after a bulk insert, or the planner takes the run for a handful of rows and
            # matches 100k lines by nested index lookups instead of hash joins (8 s instead of 4 s).
            cur.execute(f"ANALYZE {SettlementLine._meta.db_table}")
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().defer("content").get(pk=run.pk)
        counts = settlement_match(run_id=run.pk)
        created = payouts_settle(run_id=run.pk)
        payouts_match_bank(run_id=None)
        run.duplicates = len(rows) - sum(counts.values())
        run.matched, run.unmatched, run.mismatched = (counts.get(s, 0) for s in _COUNTED)
        run.summary = {"payouts_created": created, "rejected_rows": len(errors), "by_status": counts}
        run.succeed()
        run.save()
        _settlement_incident(run)


def settlement_lines_store(*, run_id: int, rows: Sequence[SettlementRow]) -> int:
    """COPY rows into a temporary table, then insert the ones whose balance transaction is new.

    A line already imported (by this run before a retry, or by an earlier file) is kept as it was.
    Runs in the caller's transaction; returns the number of rows inserted.
    """
    if not rows:
        return 0
    if not _pg():  # the embedded demo: a few dozen lines
        before = SettlementLine.objects.filter(run_id=run_id).count()
        lines = [SettlementLine(run_id=run_id, **{c: getattr(r, c) for c in _STAGE_COLUMNS}) for r in rows]
        SettlementLine.objects.bulk_create(lines, ignore_conflicts=True)
        return SettlementLine.objects.filter(run_id=run_id).count() - before
    table = SettlementLine._meta.db_table
    columns = ", ".join(_STAGE_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE recon_stage (line_number int, balance_transaction_id text, automatic_payout_id text, "
            "created timestamptz, available_on date, currency text, gross numeric, fee numeric, net numeric, "
            "reporting_category text, source_id text, charge_id text, payment_intent_id text, description text) "
            "ON COMMIT DROP"
        )
        with cur.cursor.copy(f"COPY recon_stage ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(getattr(r, c) for c in _STAGE_COLUMNS))
        cur.execute(
            f"INSERT INTO {table} (run_id, {columns}, status, note) "  # noqa: S608 - fixed identifiers
            f"SELECT %s, {columns}, 'pending', '' FROM recon_stage ORDER BY line_number "
            "ON CONFLICT (balance_transaction_id) DO NOTHING",
            [run_id],
        )
        inserted = cur.rowcount
        cur.execute("DROP TABLE recon_stage")
    return inserted


def settlement_match(*, run_id: int) -> dict[str, int]:
    """Match the run's lines to orders (charges) and returns (refunds): one UPDATE per rule.

    matched: counterpart found, same amount and currency; mismatched: counterpart found, amount or
    currency differs (the note says what was expected), or several counterparts share the reference
    (none is linked); unmatched: no counterpart. Fees, payouts and
    other categories have nothing to match. Returns the number of the run's lines per status.
    """
    line, order, ret = SettlementLine._meta.db_table, Order._meta.db_table, Return._meta.db_table
    p = {"run": run_id}
    # Each line is written once: its counterparts are found and counted in a subquery, the status
    # decided in the SET. A reference that several orders (or returns) share matches none of them:
    # the line is a mismatch naming how many share it, for finance to settle by hand.
    rules = [
        # Charges: the order's payment reference is the PaymentIntent id or (older integrations) the charge id.
        f"""UPDATE {line} AS l SET order_id = CASE WHEN m.n = 1 THEN m.oid END,
              status = CASE WHEN m.n = 0 THEN 'unmatched'
                            WHEN m.n > 1 THEN 'mismatched'
                            WHEN m.currency = l.currency AND m.amount = l.gross THEN 'matched'
                            ELSE 'mismatched' END,
              note = CASE WHEN m.n = 0 THEN 'no order with this payment reference'
                          WHEN m.n > 1 THEN m.n || ' orders share this payment reference'
                          WHEN m.currency = l.currency AND m.amount = l.gross THEN ''
                          ELSE 'order RO-' || {_zpad8("m.oid")} || ' expects ' || {_money_text("m.amount")}
                               || ' ' || m.currency
                     END
            FROM (
              SELECT x.id, count(o.id) AS n, min(o.id) AS oid, min(o.currency) AS currency,
                     min(COALESCE(o.payment_amount, o.total)) AS amount
              FROM {line} x
              LEFT JOIN {order} o ON o.payment_reference = CASE
                WHEN x.payment_intent_id <> '' AND EXISTS (
                  SELECT 1 FROM {order} pi WHERE pi.payment_reference = x.payment_intent_id)
                THEN x.payment_intent_id
                WHEN x.charge_id <> '' THEN x.charge_id
              END
              WHERE x.run_id = %(run)s AND x.reporting_category = 'charge'
              GROUP BY x.id
            ) m
            WHERE l.id = m.id""",
        # Refunds: the return records the refund's own id (re_…), which Stripe reports as source_id.
        f"""UPDATE {line} AS l SET refund_return_id = CASE WHEN m.n = 1 THEN m.rid END,
              status = CASE WHEN m.n = 0 THEN 'unmatched'
                            WHEN m.n > 1 THEN 'mismatched'
                            WHEN m.currency = l.currency AND m.amount = -l.gross THEN 'matched'
                            ELSE 'mismatched' END,
              note = CASE WHEN m.n = 0 THEN 'no return with this refund reference'
                          WHEN m.n > 1 THEN m.n || ' returns share this refund reference'
                          WHEN m.currency = l.currency AND m.amount = -l.gross THEN ''
                          ELSE 'return RMA-' || {_zpad8("m.rid")} || ' refunded '
                               || COALESCE({_money_text("m.amount")}, 'nothing') || ' ' || m.currency END
            FROM (
              SELECT x.id, count(r.id) AS n, min(r.id) AS rid, min(r.currency) AS currency,
                     min(r.refund_amount) AS amount
              FROM {line} x
              LEFT JOIN {ret} r ON x.source_id <> '' AND r.refund_payment_reference = x.source_id
              WHERE x.run_id = %(run)s AND x.reporting_category = 'refund'
              GROUP BY x.id
            ) m
            WHERE l.id = m.id""",
        # Fees, payouts, disputes, adjustments: nothing to match, they only feed the payout.
        f"""UPDATE {line} SET status = 'not_applicable', note = ''
            WHERE run_id = %(run)s AND reporting_category NOT IN ('charge', 'refund')""",
    ]
    with connection.cursor() as cur:
        for sql in rules:
            cur.execute(sql, p)
        cur.execute(f"SELECT status, count(*) FROM {line} WHERE run_id = %(run)s GROUP BY status", p)  # noqa: S608
        return {status: n for status, n in cur.fetchall()}


def _cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def payouts_settle(*, run_id: int) -> int:
    """Create each payout of the run once, from all its lines, and emit its event in the same insert's
    transaction. A payout that exists already (a re-import, a retry) is skipped: never two events.

    The payload is the journal's contract: net + fees = charges − refunds always holds, because
    disputes, adjustments and other categories are folded into fees (and kept in `other`).
    """
    line, payout = SettlementLine._meta.db_table, Payout._meta.db_table
    sql = f"""
        WITH sums AS (
          SELECT l.automatic_payout_id AS payout_id, min(l.currency) AS currency, count(*) AS lines,
                 COALESCE(sum(l.gross) FILTER (WHERE l.reporting_category = 'charge'), 0) AS charges,
                 COALESCE(-sum(l.gross) FILTER (WHERE l.reporting_category = 'refund'), 0) AS refunds,
                 COALESCE(sum(l.fee), 0)
                   - COALESCE(sum(l.gross) FILTER (WHERE l.reporting_category = 'fee'), 0) AS stripe_fees,
                 COALESCE(sum(l.gross) FILTER (
                   WHERE l.reporting_category NOT IN ('charge', 'refund', 'fee')), 0) AS other,
                 COALESCE(sum(l.net), 0) AS net,
                 COALESCE(max(l.available_on), {_date_of("max(l.created)")}, CURRENT_DATE) AS paid_on
          FROM {line} l
          WHERE l.reporting_category <> 'payout' AND l.automatic_payout_id IN (
            SELECT DISTINCT automatic_payout_id FROM {line} WHERE run_id = %(run)s)
          GROUP BY l.automatic_payout_id
          HAVING count(DISTINCT l.currency) = 1
        )
        INSERT INTO {payout} (payout_id, run_id, currency, charges, refunds, fees, other, net, paid_on, lines,
                              status, created_at)
        SELECT payout_id, %(run)s, currency, round(charges, 2), round(refunds, 2), round(stripe_fees - other, 2),
               round(other, 2), round(net, 2), paid_on, lines, %(awaiting)s, %(now)s
        FROM sums WHERE true ORDER BY payout_id
        ON CONFLICT (payout_id) DO NOTHING
        RETURNING id, payout_id, currency, charges, refunds, fees, other, net, paid_on"""  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, {"run": run_id, "awaiting": PayoutStatus.AWAITING_BANK, "now": timezone.now()})
        # SQLite hands back floats and ISO strings; PostgreSQL Decimals and dates: one shape for both.
        created = [
            (pk, payout_id, currency, *(_cents(v) for v in amounts), str(paid_on)[:10])
            for pk, payout_id, currency, *amounts, paid_on in cur.fetchall()
        ]
    outbox_emit(
        *(
            Event(
                name=PAYOUT_SETTLED,
                aggregate_type="reconciliation.payout",
                aggregate_id=payout_id,
                payload={
                    "payout_id": payout_id,
                    "currency": currency,
                    "charges": str(charges),
                    "refunds": str(refunds),
                    "fees": str(fees),
                    "net": str(net),
                    "paid_on": paid_on,
                    "run_id": run_id,
                },
            )
            for _pk, payout_id, currency, charges, refunds, fees, _other, net, paid_on in created
        )
    )
    for _pk, payout_id, currency, _c, _r, _f, other, _n, _d in created:
        if other:
            incident_raise(
                kind="reconciliation.payout_adjusted",
                title=f"Payout {payout_id} carries {other} {currency} of disputes or adjustments",
                severity="medium",
                details={"payout_id": payout_id, "other": str(other), "currency": currency, "run_id": run_id},
                dedupe_key=f"recon-payout-other:{payout_id}",
                owner_team="finance",
            )
    return len(created)


def _settlement_incident(run: ReconciliationRun) -> None:
    """One incident per run listing its exceptions, not one per line: a finance clerk works a file's
    exceptions in one sitting against the processor's report, and a systematic fault (a currency, a
    missing integration) must not bury the queue under thousands of items. The run page lists all."""
    if not (run.unmatched or run.mismatched):
        return
    listed = list(
        SettlementLine.objects.filter(run=run, status__in=EXCEPTIONS)
        .order_by("line_number")
        .values("line_number", "balance_transaction_id", "reporting_category", "gross", "currency", "status", "note")[
            :LISTED_IN_INCIDENT
        ]
    )
    incident_raise(
        kind="reconciliation.settlement_exceptions",
        title=f"Settlement run #{run.pk}: {run.unmatched} unmatched, {run.mismatched} mismatched line(s)",
        severity="medium",
        subject=run,
        details={
            "run_id": run.pk,
            "file": run.file_name,
            "unmatched": run.unmatched,
            "mismatched": run.mismatched,
            "lines": [{**row, "gross": str(row["gross"])} for row in listed],
            "more": max(0, run.unmatched + run.mismatched - len(listed)),
        },
        dedupe_key=f"recon-run-exceptions:{run.pk}",
        owner_team="finance",
    )


# --- bank statements -------------------------------------------------------------------------------------


def _statement_execute(run: ReconciliationRun, content: bytes) -> None:
    statements = statement_parse(content)
    problems = [p for p in (s.balance_problem() for s in statements) if p]
    if problems:
        _run_fail(run.pk, "; ".join(problems), kind="reconciliation.statement_unbalanced")
        return
    entries = [(s, e) for s in statements for e in s.entries if e.booked]
    pending = sum(1 for s in statements for e in s.entries if not e.booked)
    _progress(run.pk, total=len(entries), processed=0, lines=len(entries))
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().defer("content").get(pk=run.pk)
        bank_entries_store(run_id=run.pk, entries=entries)
        _progress(run.pk, processed=len(entries))
        payouts_match_bank(run_id=run.pk)
        counts = dict(BankEntry.objects.filter(run=run).values_list("status").annotate(n=Count("id")))
        overdue = _payouts_overdue(statements)
        run.duplicates = len(entries) - sum(counts.values())
        run.matched, run.unmatched, run.mismatched = (counts.get(s, 0) for s in _COUNTED)
        run.summary = {
            "statements": [
                {
                    "id": s.statement_id,
                    "account": s.account,
                    "currency": s.currency,
                    "opening": str(s.opening),
                    "closing": str(s.closing),
                    "entries": len(s.entries),
                }
                for s in statements
            ],
            "pending_entries_skipped": pending,
            "by_status": counts,
            "payouts_overdue": overdue,
        }
        run.refresh_from_db(fields=["processed", "total", "lines"])
        run.succeed()
        run.save()
        _statement_incident(run)


def bank_entries_store(*, run_id: int, entries: Sequence[tuple[Statement, Any]]) -> int:
    """Insert the booked entries; one already imported (same account, statement and bank reference)
    is skipped. Statements are small (hundreds of entries), so a bulk insert is enough here."""
    rows = [
        BankEntry(
            run_id=run_id,
            account=s.account,
            statement_id=s.statement_id,
            bank_reference=e.bank_reference,
            position=e.position,
            amount=e.amount,
            currency=e.currency,
            credit=e.credit,
            booking_date=e.booking_date,
            value_date=e.value_date,
            end_to_end_id=e.end_to_end_id,
            remittance=e.remittance,
        )
        for s, e in entries
    ]
    return len(BankEntry.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000))


def payouts_match_bank(*, run_id: int | None) -> None:
    """Pair payouts awaiting the bank with bank credits of the same amount and currency, booked from
    RECONCILIATION_BANK_DAYS_BEFORE days before to RECONCILIATION_BANK_DAYS_AFTER days after the
    payout date: first those whose text names the payout id, then the rest by amount and date.
    Each pair is the best (closest date) for both sides, so no credit pays two payouts.

    `run_id` limits the entries to one statement run; None looks at every unpaired entry (a
    settlement file that arrives after the statement)."""
    entry, payout = BankEntry._meta.db_table, Payout._meta.db_table
    markers = [m.lower() for m in settings.RECONCILIATION_PAYOUT_MARKERS]
    p: dict[str, Any] = {
        "run": run_id,
        "before": settings.RECONCILIATION_BANK_DAYS_BEFORE,
        "after": settings.RECONCILIATION_BANK_DAYS_AFTER,
        **{f"marker{i}": f"%{m}%" for i, m in enumerate(markers)},
    }
    scope = "TRUE" if run_id is None else "e.run_id = %(run)s"
    text = "lower(e.remittance || ' ' || e.end_to_end_id || ' ' || e.bank_reference)"
    looks_like_payout = " OR ".join(f"{text} LIKE %(marker{i})s" for i in range(len(markers))) or "FALSE"
    names_payout = _contains(text, "lower(p.payout_id)")
    day = "COALESCE(e.booking_date, e.value_date)"
    gap = _day_gap(day, "p.paid_on")
    # A payout with a negative net (refunds exceeded charges) is taken from the bank: a debit.
    signed = "CASE WHEN e.credit THEN e.amount ELSE -e.amount END"

    def pair(named: bool) -> str:
        return f"""
        WITH cand AS (
          SELECT p.id AS pid, e.id AS eid,
                 row_number() OVER (PARTITION BY e.id ORDER BY {gap}, p.id) AS re,
                 row_number() OVER (PARTITION BY p.id ORDER BY {gap}, e.id) AS rp
          FROM {entry} e JOIN {payout} p ON p.net = {signed} AND p.currency = e.currency
          WHERE {scope} AND e.payout_id IS NULL AND e.status IN ('pending', 'unmatched')
            AND p.status = 'awaiting_bank'
            AND {day} BETWEEN {_add_days("p.paid_on", "before", "-")} AND {_add_days("p.paid_on", "after", "+")}
            AND {"" if named else "NOT "}{names_payout}
        ), best AS (SELECT pid, eid FROM cand WHERE re = 1 AND rp = 1)
        UPDATE {entry} AS e SET payout_id = best.pid, status = 'matched',
               note = {"'names the payout'" if named else "'same amount within the date window'"}
        FROM best WHERE e.id = best.eid"""

    rules = [
        pair(named=True),
        pair(named=False),
        f"""UPDATE {payout} AS p SET status = 'in_bank' FROM {entry} e
            WHERE e.payout_id = p.id AND p.status <> 'in_bank'""",
        # Names a payout but not for its amount (or out of the window): a person must look.
        f"""UPDATE {entry} AS e SET status = 'mismatched',
               note = 'names payout ' || p.payout_id || ' of ' || {_money_text("p.net")} || ' ' || p.currency
                      || ' paid on ' || p.paid_on
            FROM {payout} p
            WHERE {scope} AND e.status IN ('pending', 'unmatched') AND e.payout_id IS NULL AND {names_payout}""",
        # What is left and looks like a payout (a marker in its text) is unmatched; salaries and rent
        # have nothing to match here.
        f"""UPDATE {entry} AS e SET
              status = CASE WHEN {looks_like_payout} THEN 'unmatched' ELSE 'not_applicable' END, note = ''
            WHERE {scope} AND e.status = 'pending'""",
    ]
    with connection.cursor() as cur:
        for sql in rules:
            cur.execute(sql, p)


def _payouts_overdue(statements: Sequence[Statement]) -> list[str]:
    """Payouts whose window closed before the end of a statement in their currency, still without a
    credit: one incident each (each is chased with the processor on its own)."""
    as_of: dict[str, Any] = {}
    for s in statements:
        if s.as_of and (s.currency not in as_of or s.as_of > as_of[s.currency]):
            as_of[s.currency] = s.as_of
    overdue: list[str] = []
    after = timedelta(days=settings.RECONCILIATION_BANK_DAYS_AFTER)
    for currency, day in sorted(as_of.items()):
        for payout in Payout.objects.filter(
            status=PayoutStatus.AWAITING_BANK, currency=currency, paid_on__lt=day - after
        ).order_by("paid_on", "payout_id"):
            overdue.append(payout.payout_id)
            incident_raise(
                kind="reconciliation.payout_not_in_bank",
                title=f"Payout {payout.payout_id} of {payout.net} {payout.currency} ({payout.paid_on}) "
                "is not on the bank statement",
                severity="high",
                subject=payout,
                details={
                    "payout_id": payout.payout_id,
                    "net": str(payout.net),
                    "currency": payout.currency,
                    "paid_on": payout.paid_on.isoformat(),
                    "statement_until": day.isoformat(),
                },
                dedupe_key=f"recon-payout-missing:{payout.payout_id}",
                owner_team="finance",
            )
    return overdue


def _statement_incident(run: ReconciliationRun) -> None:
    if not (run.unmatched or run.mismatched):
        return
    listed = list(
        BankEntry.objects.filter(run=run, status__in=EXCEPTIONS)
        .order_by("position")
        .values("statement_id", "bank_reference", "amount", "currency", "booking_date", "status", "note", "remittance")[
            :LISTED_IN_INCIDENT
        ]
    )
    incident_raise(
        kind="reconciliation.bank_exceptions",
        title=f"Bank statement run #{run.pk}: {run.unmatched} unmatched, {run.mismatched} mismatched payout credit(s)",
        severity="medium",
        subject=run,
        details={
            "run_id": run.pk,
            "file": run.file_name,
            "entries": [
                {**row, "amount": str(row["amount"]), "booking_date": str(row["booking_date"])} for row in listed
            ],
        },
        dedupe_key=f"recon-run-exceptions:{run.pk}",
        owner_team="finance",
    )
