"""Reconciliation benchmark: a Stripe payout file of 10k / 50k / 100k lines against as many orders.

For each size, on a fresh database (created from DATABASE_URL's server, migrated, dropped at the end):
1. insert N orders with payment references (raw COPY: the bench measures reconciliation, not intake);
2. write a payout reconciliation CSV of N lines: ~96% charges that match, 2% with a wrong amount,
   1% with an unknown payment reference, 1% refunds nobody recorded; one payout per 1,000 lines;
3. create the run and execute it through the real service (`reconciliation_run_execute`: parse,
   COPY + insert in chunks with progress, the set-based matching UPDATEs, payouts and their events,
   the incident), timing each phase.
Prints seconds and lines/s per size and phase, the growth factor against the smallest size, and the
machine's load average (the machine is shared), and writes bench/results/reconciliation-<time>.json.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/reconciliation.py
    .venv/bin/python bench/reconciliation.py --sizes 10000 50000 100000 --repeat 2
"""

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PHASES = ("settlement_parse", "settlement_lines_store", "settlement_match", "payouts_settle", "payouts_match_bank")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset(n_orders: int, rng: random.Random) -> list[tuple[str, Decimal]]:
    """Empty the tables the bench touches and insert n orders; returns (payment_reference, amount)."""
    from django.db import connection

    from apps.orders.models import Order

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE reconciliation_bankentry, reconciliation_payout, reconciliation_settlementline, "
            "reconciliation_reconciliationrun, core_incidentevent, core_incident, core_outboxdelivery, "
            "core_outboxevent, returns_returninspection, returns_returnline, returns_returnhistory, returns_return, "
            "orders_orderline, orders_order CASCADE"
        )
        orders = [(f"pi_bench_{i:08d}", Decimal(rng.randint(500, 50000)) / 100) for i in range(n_orders)]
        cols = (
            "channel, external_id, request_hash, status, customer_email, customer_name, fulfillment_method, "
            "shipping_address, currency, total, payment_method, payment_reference, payment_amount, carrier, "
            "tracking_number, created_at, updated_at"
        )
        with cur.cursor.copy(f"COPY {Order._meta.db_table} ({cols}) FROM STDIN") as copy:
            for i, (ref, amount) in enumerate(orders):
                copy.write_row(
                    (
                        "web",
                        f"BENCH-{i}",
                        f"{i:064d}",
                        "shipped",
                        "bench@example.com",
                        "",
                        "ship",
                        "{}",
                        "USD",
                        amount,
                        "card",
                        ref,
                        amount,
                        "",
                        "",
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                    )
                )
        cur.execute("ANALYZE orders_order")
    return orders


def settlement_file(orders: list[tuple[str, Decimal]], rng: random.Random) -> tuple[bytes, dict[str, int]]:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "automatic_payout_id",
            "balance_transaction_id",
            "created_utc",
            "available_on_utc",
            "currency",
            "gross",
            "fee",
            "net",
            "reporting_category",
            "source_id",
            "charge_id",
            "payment_intent_id",
            "description",
        ]
    )
    expected = defaultdict(int)
    for i, (ref, amount) in enumerate(orders):
        roll = rng.random()
        category, gross, pi = "charge", amount, ref
        if roll < 0.02:
            gross, outcome = amount + Decimal("1.00"), "mismatched"
        elif roll < 0.03:
            pi, outcome = f"pi_unknown_{i}", "unmatched"
        elif roll < 0.04:
            category, gross, pi, outcome = "refund", -amount, "", "unmatched"
        else:
            outcome = "matched"
        expected[outcome] += 1
        fee = (
            Decimal("0.00")
            if category == "refund"
            else (gross * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01"))
        )
        day = 1 + (i // 1000) % 27
        w.writerow(
            [
                f"po_bench_{i // 1000:05d}",
                f"txn_bench_{i:08d}",
                f"2026-02-{day:02d} 10:00:00",
                f"2026-02-{day + 1:02d} 00:00:00",
                "usd",
                f"{gross:.2f}",
                f"{fee:.2f}",
                f"{gross - fee:.2f}",
                category,
                f"re_bench_{i}" if category == "refund" else f"ch_bench_{i}",
                f"ch_bench_{i}",
                pi,
                f"Order {i}",
            ]
        )
    return out.getvalue().encode(), dict(expected)


def timed_phases(services, timings: dict[str, float]):
    """Wrap the service's phase functions (looked up by module global at call time) with timers."""
    originals = {name: getattr(services, name) for name in PHASES}

    def wrap(name, fn):
        def inner(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

        return inner

    for name, fn in originals.items():
        setattr(services, name, wrap(name, fn))
    return originals


def one_size(n: int, seed: int) -> dict:
    from apps.reconciliation import services
    from apps.reconciliation.models import ReconciliationRun

    rng = random.Random(seed)
    load_before = os.getloadavg()
    orders = reset(n, rng)
    content, expected = settlement_file(orders, rng)
    timings: dict[str, float] = {}
    originals = timed_phases(services, timings)
    try:
        started = time.perf_counter()
        run = services.reconciliation_run_create(
            kind="settlement", file_name=f"bench-{n}.csv", content=content, actor=None
        )
        timings["run_create"] = time.perf_counter() - started
        services.reconciliation_run_execute(run_id=run.pk)
        total = time.perf_counter() - started
    finally:
        for name, fn in originals.items():
            setattr(services, name, fn)
    run = ReconciliationRun.objects.defer("content").get(pk=run.pk)
    got = {"matched": run.matched, "mismatched": run.mismatched, "unmatched": run.unmatched}
    assert run.status == "succeeded", run.failure
    assert got == {k: expected.get(k, 0) for k in got}, (got, expected)
    return {
        "lines": n,
        "bytes": len(content),
        "seconds": round(total, 3),
        "lines_per_s": round(n / total),
        "phases": {k: round(v, 3) for k, v in timings.items()},
        "counts": got,
        "payouts": run.summary["payouts_created"],
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest is reported")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin_url = _with_db(admin_url, "postgres")
    name = f"retailops_bench_recon_{os.getpid()}"
    db_url = _with_db(admin_url, name)
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "retailops.settings.test"}
    # No broker is needed: runs are executed in-process and the on-commit nudges fail fast and are logged.
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # refused at once: nothing leaves for a real broker
    log(f"database {name}: create and migrate")
    create_database(admin_url, name)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        import django

        django.setup()
        import logging

        logging.disable(logging.WARNING)
        results = []
        for n in args.sizes:
            best = None
            for r in range(args.repeat):
                res = one_size(n, seed=n + r)
                log(
                    f"{n:>7} lines: {res['seconds']:7.2f} s  {res['lines_per_s']:>7} lines/s  "
                    f"phases {res['phases']}  load {res['load_before'][0]} → {res['load_after'][0]}"
                )
                best = res if best is None or res["seconds"] < best["seconds"] else best
            results.append(best)
        base = results[0]
        print()
        print(f"cpus: {os.cpu_count()}   load average now: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'lines':>8} {'seconds':>8} {'lines/s':>8} {'match s':>8} {'store s':>8} {'x time':>7} {'x size':>7}")
        for res in results:
            match, store = (res["phases"].get(k, 0) for k in ("settlement_match", "settlement_lines_store"))
            print(
                f"{res['lines']:>8} {res['seconds']:>8.2f} {res['lines_per_s']:>8} {match:>8.2f} {store:>8.2f} "
                f"{res['seconds'] / base['seconds']:>7.1f} {res['lines'] / base['lines']:>7.1f}"
            )
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"reconciliation-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))
        log(f"results: {path.relative_to(ROOT)}")
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database(admin_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
