"""Order intake benchmark: POST /api/v1/orders/ under gunicorn + Celery against a raw-SQL floor.

One run, bounded in time, on a fresh PostgreSQL database that is dropped at the end:

1. create the database, migrate, create a superuser and its token, serve the project as production
   does (gunicorn with the project's gunicorn.conf.py, production settings, a Celery worker on
   Redis), seed locations,
   products and plenty of stock through the API;
2. optionally measure 2..4 gunicorn workers briefly and keep the fastest;
3. drive 3-line ship orders from N client processes (one keep-alive connection each) for a fixed time after a
   warm-up: orders/s and latency percentiles, every response must be 201 and allocated;
4. wait for the outbox relay to drain, then write the same durable rows per order straight through
   psycopg 3 from N processes (one transaction per order: order, 3 lines, guarded level updates in
   id order, 3 reservations, the 2 history rows and the 2 outbox rows the app writes): orders/s;
5. optionally profile the gunicorn workers (and the Celery worker) with py-spy under the same load
   and break the CPU samples down by phase and by layer.

Prints `app X orders/s  raw Y orders/s  ratio X/Y` and writes a JSON result to bench/results/.
Usage: .venv/bin/python bench/order_intake.py [--duration 20] [--workers auto|N] [--no-profile]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql
from psycopg.types.json import Jsonb

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_ROOT = BENCH_DIR.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
UNIT_PRICE = Decimal("10.00")
SHIP_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
CUSTOMER = {"email": "ann.lee@example.com", "name": "Ann Lee"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- database and processes -------------------------------------------------------------------------


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def free_redis_db(url: str, candidates: tuple[int, ...] = (12, 11, 10, 9, 8)) -> str:
    """A Redis database nobody is connected to, so a concurrent bench or test run's Celery worker
    cannot take this run's tasks (every deployment uses the queue `celery`). Leftover messages of an
    earlier bench there are harmless: a relay task only relays its own database's outbox."""
    import redis

    client = redis.Redis.from_url(_with_db(url, "0"), socket_timeout=5)
    try:
        busy = {int(c.get("db", -1)) for c in client.client_list()}
    finally:
        client.close()
    for db in candidates:
        if db not in busy:
            return _with_db(url, str(db))
    raise RuntimeError(f"no free Redis database among {candidates} on {url}; pass --broker-url")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(comm, ppid, session, utime+stime ticks) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), int(fields[3]), int(fields[11]) + int(fields[12])


def _all_procs() -> dict[int, tuple[str, int, int, int]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _proc_stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def _system_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def background_busy_pct(seconds: float = 1.0) -> float:
    """How busy the machine is while the benchmark itself is idle (other tenants, autovacuum...)."""
    a = _system_ticks()
    time.sleep(seconds)
    b = _system_ticks()
    return round(100 * (b[0] - a[0]) / max(1, b[1] - a[1]), 1)


def wait_quiet(max_wait: float, threshold: float = 20.0) -> float:
    """Wait (bounded) until the idle-benchmark machine is under `threshold` % busy; returns the last reading."""
    deadline = time.monotonic() + max_wait
    busy = background_busy_pct()
    while busy > threshold and time.monotonic() < deadline:
        busy = background_busy_pct(2.0)
    if busy > threshold:
        log(f"  machine still {busy}% busy without the benchmark after waiting {max_wait:g} s; measuring anyway")
    return busy


class CpuMeter:
    """CPU seconds per process group between start() and stop(), sampled every second.

    Groups: gunicorn and celery (by session: we start each in its own), the PostgreSQL backends of
    the bench database and the server's shared processes (WAL writer, checkpointer...), the load
    clients (our child processes). Whatever else kept the machine busy is reported as `foreign`, so
    a run disturbed by another workload on the same machine is visible.
    """

    def __init__(self, *, sessions: dict[str, int], db: str):
        self.sessions = sessions
        self.db = db
        self.me = os.getpid()
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.group: dict[int, str] = {}
        self._stop = threading.Event()

    def _classify(self, pid: int, comm: str, ppid: int, session: int) -> str:
        for name, sid in self.sessions.items():
            if session == sid:
                return name
        if comm == "postgres":
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                return "foreign"
            if self.db in title:
                return "postgres_bench_backends"
            if "postgres:" not in title or any(
                aux in title for aux in ("checkpointer", "writer", "launcher", "archiver", "stats", "walsender")
            ):
                return "postgres_shared"
            return "foreign"
        if ppid == self.me:
            return "profiler" if comm == "py-spy" else "clients"
        if pid == self.me:
            return "bench_driver"
        return "foreign"

    def _sample(self, initial: bool = False) -> None:
        for pid, (comm, ppid, session, ticks) in _all_procs().items():
            if pid not in self.group:
                self.group[pid] = self._classify(pid, comm, ppid, session)
                self.first[pid] = ticks if initial else 0  # a process born during the window starts at 0
            self.last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.sys0 = _system_ticks()
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._sample()
        self._stop.set()
        self._thread.join()
        sys1 = _system_ticks()
        seconds = time.monotonic() - self.t0
        totals: dict[str, float] = defaultdict(float)
        for pid, group in self.group.items():
            if group != "foreign":
                totals[group] += (self.last[pid] - self.first[pid]) / CLK_TCK
        busy_s = (sys1[0] - self.sys0[0]) / CLK_TCK
        totals["foreign"] = max(0.0, busy_s - sum(totals.values()))
        total = sys1[1] - self.sys0[1]
        return {
            "wall_s": round(seconds, 2),
            "cpu_s": {k: round(v, 2) for k, v in sorted(totals.items())},
            "machine_busy_pct": round(100 * (sys1[0] - self.sys0[0]) / total, 1) if total else None,
            "machine_busy_cpu_s": round(busy_s, 2),
        }


class Deployment:
    """The project served as in production, on its own database; everything is torn down by stop()."""

    def __init__(self, *, root: Path, database_url: str, broker_url: str, logdir: Path, gunicorn_args: list[str]):
        self.root = root
        self.gunicorn_args = gunicorn_args
        self.py = str(root / ".venv" / "bin" / "python")
        self.db = f"bench_intake_{uuid.uuid4().hex[:10]}"
        self.admin_url = _with_db(database_url, "postgres")
        self.db_url = _with_db(database_url, self.db)
        self.broker_url = broker_url
        self.logdir = logdir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "retailops.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.created = False
        self.port = 0
        self.workers = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def manage(self, *args: str) -> str:
        r = subprocess.run(
            [self.py, "manage.py", *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300
        )
        if r.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        out = open(self.logdir / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            cmd, cwd=self.root, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def setup(self, username: str) -> str:
        self.admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db)))
        self.created = True
        self.manage("migrate", "--noinput")
        self.manage("createsuperuser", "--noinput", "--username", username, "--email", f"{username}@example.com")
        return self.manage("api_token", username).strip().splitlines()[-1].strip()

    def start_worker(self) -> None:
        self.worker = self._spawn(
            "worker", [self.py, "-m", "celery", "-A", "retailops", "worker", "--loglevel=WARNING", "--concurrency=2"]
        )

    def start_web(self, workers: int, token: str) -> None:
        self.stop_web()
        self.port = _free_port()
        self.workers = workers
        self.web = self._spawn(
            "web",
            [
                self.py,
                "-m",
                "gunicorn",
                "retailops.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                *self.gunicorn_args,
            ],
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.logdir / 'web.log'}")
            try:
                r = requests.get(
                    f"{self.base}/api/v1/locations/", headers={"Authorization": f"Token {token}"}, timeout=5
                )
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.logdir / 'web.log'}")

    def web_worker_pids(self) -> list[int]:
        assert self.web is not None
        return sorted(pid for pid, (_c, ppid, _s, _t) in _all_procs().items() if ppid == self.web.pid)

    @staticmethod
    def _stop(proc: subprocess.Popen | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_web(self) -> None:
        self._stop(self.web)
        self.web = None

    def stop(self, keep_db: bool = False) -> None:
        self.stop_web()
        self._stop(self.worker)
        self.worker = None
        if self.created and not keep_db:
            try:
                self.admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db)))
            except psycopg.Error as exc:
                log(f"could not drop {self.db}: {exc}")


# --- seeding ----------------------------------------------------------------------------------------


def seed(base: str, token: str, *, products: int, stock: int) -> dict[str, Any]:
    """Three locations (the first one preferred by routing), `products` SKUs, `stock` of each everywhere."""
    s = requests.Session()
    s.headers["Authorization"] = f"Token {token}"

    def post(path: str, body: dict) -> dict:
        r = s.post(base + path, json=body, timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"seeding {path} failed: {r.status_code} {r.text[:500]}")
        return r.json()

    locations = [("BWH-A", "warehouse", 10), ("BWH-B", "warehouse", 20), ("BST-C", "store", 30)]
    for code, kind, priority in locations:
        post("/api/v1/locations/", {"code": code, "name": f"Bench {code}", "kind": kind, "priority": priority})
    skus = [f"BENCH-{i:05d}" for i in range(products)]
    for sku in skus:
        post("/api/v1/products/", {"sku": sku, "name": f"Bench product {sku}", "price": "10.00", "cost": "4.00"})
    for code, _, _ in locations:
        post(
            "/api/v1/stock/receipts/",
            {
                "location": code,
                "reference": f"bench opening {code}",
                "lines": [{"sku": sku, "quantity": stock, "unit_cost": "4.00"} for sku in skus],
            },
        )
    return {"skus": skus, "preferred_location": locations[0][0], "locations": [c for c, _, _ in locations]}


# --- load generators (run in child processes) ------------------------------------------------------------


def _order_lines(rng: random.Random, skus: list[str]) -> list[tuple[str, int]]:
    return [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, 3)]


def _app_payload(external_id: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
    total = sum(q for _, q in lines) * UNIT_PRICE
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": "USD",
        "customer": CUSTOMER,
        "fulfillment": {"method": "ship", "address": SHIP_ADDRESS},
        "payment": {"method": "card", "reference": f"ch_{external_id}", "amount": f"{total:.2f}"},
        "lines": [{"sku": sku, "quantity": q, "unit_price": f"{UNIT_PRICE:.2f}"} for sku, q in lines],
    }


def _window_loop(spec: dict[str, Any], one_order) -> dict[str, Any]:
    """Run one_order(seq) -> (ok, error_text) until the window closes; count completions inside it."""
    start_at, warmup, duration = spec["start_at"], spec["warmup"], spec["duration"]
    t_measure, t_end = start_at + warmup, start_at + warmup + duration
    max_orders = spec.get("max_orders") or 0
    while (delay := start_at - time.time()) > 0:
        time.sleep(min(delay, 0.05))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    samples: list[str] = []
    warm = seq = 0
    cpu0 = cpu1 = None
    while True:
        wall0 = time.time()
        if wall0 >= t_end or (max_orders and len(latencies) >= max_orders):
            break
        if cpu0 is None and wall0 >= t_measure:
            cpu0 = time.process_time()
        seq += 1
        t0 = time.perf_counter()
        ok, err = one_order(seq)
        elapsed = time.perf_counter() - t0
        wall1 = time.time()
        if wall1 < t_measure:
            warm += 1
        elif wall1 <= t_end:
            if ok:
                latencies.append(elapsed)
            else:
                errors[err.split(":", 1)[0]] += 1
                if len(samples) < 3:
                    samples.append(err[:300])
    cpu1 = time.process_time()
    return {
        "latencies": latencies,
        "errors": dict(errors),
        "error_samples": samples,
        "warmup_orders": warm,
        "client_cpu_s": (cpu1 - cpu0) if cpu0 is not None else 0.0,
    }


def app_client(spec: dict[str, Any]) -> dict[str, Any]:
    """One keep-alive HTTP/1.1 connection (http.client: a load generator should cost the 2 shared cores
    as little as it can; requests' sessions, adapters and cookie jar cost about twice as much CPU per
    request). A server that closes the connection after each response gets a new one per request."""
    rng = random.Random(spec["seed"])
    url = urlsplit(spec["base"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Authorization": f"Token {spec['token']}", "Content-Type": "application/json"}

    def one(seq: int) -> tuple[bool, str]:
        body = json.dumps(_app_payload(f"{spec['tag']}-{seq}", _order_lines(rng, skus))).encode()
        try:
            conn.request("POST", "/api/v1/orders/", body=body, headers=headers)
            r = conn.getresponse()
            text = r.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return False, f"transport: {type(exc).__name__}: {exc}"
        if r.status != 201:
            return False, f"http {r.status}: {text[:300]!r}"
        status = json.loads(text).get("status")
        if status != "allocated":
            return False, f"status {status}: {text[:300]!r}"
        return True, ""

    skus = spec["skus"]
    return _window_loop(spec, one)


INSERT_ORDER = """
INSERT INTO orders_order (channel, external_id, request_hash, status, customer_email, customer_name,
    fulfillment_method, shipping_address, currency, total, payment_method, payment_reference, payment_amount,
    carrier, tracking_number, created_at, updated_at, pickup_location_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', %s, %s, NULL) RETURNING id
"""
INSERT_LINES = """
INSERT INTO orders_orderline (order_id, line_no, product_id, quantity, unit_price)
VALUES (%s, 1, %s, %s, %s), (%s, 2, %s, %s, %s), (%s, 3, %s, %s, %s) RETURNING id
"""
RESERVE = """
UPDATE stock_stocklevel SET reserved = reserved + %s, updated_at = %s WHERE id = %s AND on_hand - reserved >= %s
"""
INSERT_RESERVATIONS = """
INSERT INTO stock_reservation (level_id, product_id, location_id, demand_type, demand_id, line_id, quantity, status,
    created_at, closed_at)
VALUES (%s, %s, %s, 'order', %s, %s, %s, 'active', %s, NULL), (%s, %s, %s, 'order', %s, %s, %s, 'active', %s, NULL),
       (%s, %s, %s, 'order', %s, %s, %s, 'active', %s, NULL)
"""
INSERT_HISTORY = """
INSERT INTO orders_orderhistory (order_id, from_status, to_status, actor_id, reason, at)
VALUES (%s, '', 'received', %s, 'order received', %s), (%s, 'received', 'allocated', %s, 'stock reserved', %s)
"""
INSERT_OUTBOX = """
INSERT INTO core_outboxevent (name, aggregate_type, aggregate_id, payload, status, attempts, created_at,
    next_attempt_at, delivered_at, last_error)
VALUES ('orders.order.received', 'orders.order', %s, %s, 'pending', 0, %s, %s, NULL, ''),
       ('orders.order.allocated', 'orders.order', %s, %s, 'pending', 0, %s, %s, NULL, '')
"""


def raw_client(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor: the app's durable rows for one order in one transaction, nothing else."""
    rng = random.Random(spec["seed"])
    conn = psycopg.connect(spec["dsn"], autocommit=True)
    levels = {
        sku: (product_id, level_id, location_id)
        for sku, product_id, level_id, location_id in conn.execute(
            "SELECT p.sku, p.id, l.id, l.location_id FROM catalog_product p "
            "JOIN stock_stocklevel l ON l.product_id = p.id "
            "JOIN catalog_location loc ON loc.id = l.location_id WHERE loc.code = %s",
            (spec["location"],),
        )
    }
    (actor_id,) = conn.execute("SELECT id FROM auth_user WHERE username = %s", (spec["username"],)).fetchone()
    skus = spec["skus"]
    cur = conn.cursor()

    def one(seq: int) -> tuple[bool, str]:
        external_id = f"{spec['tag']}-{seq}"
        lines = _order_lines(rng, skus)
        total = sum(q for _, q in lines) * UNIT_PRICE
        # The app stores a SHA-256 of the normalised request; hash an equivalent canonical form.
        request_hash = hashlib.sha256(
            json.dumps(
                {"external_id": external_id, "lines": lines, "customer": CUSTOMER, "address": SHIP_ADDRESS},
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
        ).hexdigest()
        now = datetime.now(UTC)
        try:
            with conn.transaction():
                cur.execute(
                    INSERT_ORDER,
                    (
                        "web",
                        external_id,
                        request_hash,
                        "allocated",
                        CUSTOMER["email"],
                        CUSTOMER["name"],
                        "ship",
                        Jsonb(SHIP_ADDRESS),
                        "USD",
                        total,
                        "card",
                        f"ch_{external_id}",
                        total,
                        now,
                        now,
                    ),
                )
                (order_id,) = cur.fetchone()
                params: list[Any] = []
                for sku, q in lines:
                    params += [order_id, levels[sku][0], q, UNIT_PRICE]
                cur.execute(INSERT_LINES, params)
                line_ids = [row[0] for row in cur.fetchall()]
                for sku, q in sorted(lines, key=lambda ln: levels[ln[0]][1]):  # lock levels in id order
                    cur.execute(RESERVE, (q, now, levels[sku][1], q))
                    if cur.rowcount != 1:
                        raise RuntimeError(f"shortfall: {sku}")
                params = []
                for (sku, q), line_id in zip(lines, line_ids, strict=True):
                    product_id, level_id, location_id = levels[sku]
                    params += [level_id, product_id, location_id, order_id, line_id, q, now]
                cur.execute(INSERT_RESERVATIONS, params)
                cur.execute(INSERT_HISTORY, (order_id, actor_id, now, order_id, actor_id, now))
                payloads = [
                    {
                        "order_id": order_id,
                        "number": f"RO-{order_id:08d}",
                        "channel": "web",
                        "external_id": external_id,
                        "status": status,
                        "total": str(total),
                        "currency": "USD",
                    }
                    for status in ("received", "allocated")
                ]
                cur.execute(
                    INSERT_OUTBOX,
                    (str(order_id), Jsonb(payloads[0]), now, now, str(order_id), Jsonb(payloads[1]), now, now),
                )
        except (psycopg.Error, RuntimeError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, ""

    try:
        return _window_loop(spec, one)
    finally:
        conn.close()


def run_load(kind: str, specs: list[dict[str, Any]], wait=None) -> tuple[list[dict[str, Any]], Any]:
    """Run one client process per spec; `wait` (if given) runs in this process while they work."""
    target = app_client if kind == "app" else raw_client
    ctx = mp.get_context("spawn")
    with ctx.Pool(len(specs)) as pool:
        pending = pool.map_async(target, specs)
        extra = wait() if wait is not None else None
        parts = pending.get(timeout=specs[0]["warmup"] + specs[0]["duration"] + 120)
    return parts, extra


def summarize(kind: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge measured rounds: rate = all orders / all measured seconds; latency over every order."""
    parts = [p for r in rounds for p in r["parts"]]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: Counter[str] = Counter()
    for p in parts:
        errors.update(p["errors"])
    duration = sum(r["duration"] for r in rounds)

    def pct(q: float) -> float | None:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else None

    cpu_s: Counter[str] = Counter()
    db: Counter[str] = Counter()
    for r in rounds:
        cpu_s.update(r["cpu"]["cpu_s"])
        db.update(r["db"])
    busy = sum(r["cpu"]["machine_busy_cpu_s"] for r in rounds)
    wall = sum(r["cpu"]["wall_s"] for r in rounds)
    return {
        "kind": kind,
        "clients": len(rounds[0]["parts"]),
        "rounds": len(rounds),
        "duration_s": duration,
        "warmup_s": rounds[0]["warmup"],
        "orders": len(latencies),
        "orders_per_s": round(len(latencies) / duration, 1),
        "background_busy_pct_by_round": [r["background_busy_pct"] for r in rounds],
        "orders_per_s_by_round": [
            round(sum(len(p["latencies"]) for p in r["parts"]) / r["duration"], 1) for r in rounds
        ],
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "error_samples": [s for p in parts for s in p["error_samples"]][:5],
        "latency_ms": {
            "mean": round(1000 * statistics.fmean(latencies), 2) if latencies else None,
            "p50": pct(0.50),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "max": round(1000 * latencies[-1], 2) if latencies else None,
        },
        "cpu": {
            "cpu_s": {k: round(v, 2) for k, v in sorted(cpu_s.items())},
            "machine_busy_cpu_s": round(busy, 2),
            "machine_busy_pct": round(100 * busy / (wall * (os.cpu_count() or 1)), 1) if wall else None,
        },
        "db": dict(db),
        **({"drain": [r["drain"] for r in rounds]} if "drain" in rounds[0] else {}),
    }


# --- checks on the database ----------------------------------------------------------------------------

EFFECTS_SQL = """
SELECT count(*) AS orders,
       (SELECT count(*) FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
         WHERE o.external_id LIKE %(p)s) AS lines,
       (SELECT count(*) FROM stock_reservation r JOIN orders_order o ON o.id = r.demand_id AND r.demand_type = 'order'
         WHERE o.external_id LIKE %(p)s) AS reservations,
       (SELECT count(*) FROM orders_orderhistory h JOIN orders_order o ON o.id = h.order_id
         WHERE o.external_id LIKE %(p)s) AS history,
       (SELECT count(*) FROM core_outboxevent e JOIN orders_order o ON e.aggregate_type = 'orders.order'
         AND e.aggregate_id = o.id::text WHERE o.external_id LIKE %(p)s) AS outbox,
       count(*) FILTER (WHERE status = 'allocated') AS allocated
FROM orders_order WHERE external_id LIKE %(p)s
"""


def effects_per_order(dsn: str, prefix: str) -> dict[str, Any]:
    """Rows written per order for orders whose external_id starts with prefix (the fairness check)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(EFFECTS_SQL, {"p": prefix + "%"}).fetchone()
    orders, lines, reservations, history, outbox, allocated = row
    per = (lambda n: round(n / orders, 3)) if orders else (lambda n: None)
    return {
        "orders": orders,
        "allocated": allocated,
        "per_order": {
            "lines": per(lines),
            "reservations": per(reservations),
            "history": per(history),
            "outbox": per(outbox),
        },
    }


def stock_consistent(dsn: str) -> bool:
    """Every level's reserved equals its active reservations (nothing lost or doubled on either side)."""
    with psycopg.connect(dsn) as conn:
        (bad,) = conn.execute(
            "SELECT count(*) FROM stock_stocklevel l LEFT JOIN (SELECT level_id, sum(quantity) q "
            "FROM stock_reservation WHERE status = 'active' GROUP BY level_id) r ON r.level_id = l.id "
            "WHERE l.reserved <> coalesce(r.q, 0)"
        ).fetchone()
    return bad == 0


def pending_outbox(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM core_outboxevent WHERE status = 'pending'").fetchone()[0]


def drain_outbox(dsn: str, timeout: float) -> dict[str, Any]:
    """Wait for the Celery relay to deliver what the app phase emitted, so it does not steal CPU later."""
    t0 = time.monotonic()
    backlog = pending_outbox(dsn)
    left = backlog
    while left and time.monotonic() - t0 < timeout:
        time.sleep(0.5)
        left = pending_outbox(dsn)
    return {"backlog_at_end": backlog, "left_after_drain": left, "drain_s": round(time.monotonic() - t0, 1)}


def max_outbox_id(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM core_outboxevent").fetchone()[0]


def settle_raw_outbox(dsn: str, after_id: int) -> int:
    """Mark the raw round's outbox rows delivered, as the relay would (no handler listens to order events).

    Otherwise the next app round's nudges would make the Celery relay deliver the raw rows too, and
    the app side would be charged for work the raw side caused. The app is idle during a raw round
    and drained before it, so the rows after `after_id` are the raw round's.
    """
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(
            "UPDATE core_outboxevent SET status = 'delivered', delivered_at = now() "
            "WHERE id > %s AND status = 'pending' AND aggregate_type = 'orders.order'",
            (after_id,),
        )
        return cur.rowcount


def vacuum_if_no_autovacuum(db_url: str) -> bool:
    """VACUUM ANALYZE the bench database when the server runs without autovacuum; True if it did.

    A production server vacuums and analyzes by itself. Without that, the relay's pending-events
    index collects one dead entry per delivered event and grows with every round (a bitmap scan of
    100k+ dead entries per relay query by the second round), and the planner never gets statistics,
    so a later round would pay for the earlier ones. Both sides get the same treatment before each round.
    """
    with psycopg.connect(db_url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
            return False
        conn.execute("VACUUM ANALYZE")
    return True


def checkpoint(admin_url: str) -> None:
    """Flush dirty pages before a phase so neither side pays for the other's checkpoint."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def server_settings(dsn: str) -> dict[str, str]:
    names = [
        "server_version",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_sync_method",
        "commit_delay",
        "autovacuum",
    ]
    with psycopg.connect(dsn) as conn:
        return {n: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()[0] for n in names}


# --- profile aggregation ---------------------------------------------------------------------------------

# Phases: a sample is charged to the deepest frame (leaf first) matching one of these rules, so the
# phase is "where in our request flow the CPU went". Rule: (label, function name suffix, file part).
PHASES: list[tuple[str, str, str]] = [
    # gunicorn worker: one POST /api/v1/orders/
    ("celery publish in on_commit (outbox_nudge -> apply_async -> kombu/redis)", "outbox_nudge", "apps/core/outbox.py"),
    ("COMMIT (BaseDatabaseWrapper.commit)", "commit", "django/db/backends/base/base.py"),
    ("transaction.atomic enter/exit bookkeeping", "Atomic.__enter__", "django/db/transaction.py"),
    ("transaction.atomic enter/exit bookkeeping", "Atomic.__exit__", "django/db/transaction.py"),
    ("token auth (per-process cache; DRF on a miss)", "authenticate", "rest_framework/authentication.py"),
    ("token auth (per-process cache; DRF on a miss)", "authenticate_credentials", "apps/core/api/"),
    ("DRF request body parsing (JSONParser)", "_parse", "rest_framework/request.py"),
    ("DRF input validation (OrderCreateInput fallback: unusual or bad bodies)", "is_valid", "rest_framework/"),
    ("intake body reader (order_input_from fast path)", "order_input_from", "apps/orders/api/intake.py"),
    ("OrderInput.fingerprint (canonical JSON + sha256)", "fingerprint", "apps/orders/services.py"),
    ("lock: SELECT skus + levels + locations FOR UPDATE (_stock_lock_by_sku)", "_stock_lock_by_sku", "apps/orders/"),
    ("routing policy", "_route_levels", "apps/orders/services.py"),
    ("stock: UPDATE levels (_apply_level_deltas)", "_apply_level_deltas", "apps/stock/services.py"),
    ("stock: INSERT reservations (stock_reserve)", "stock_reserve", "apps/stock/services.py"),
    ("order_event payloads", "order_event", "apps/orders/events.py"),
    ("outbox: INSERT events (outbox_emit)", "outbox_emit", "apps/core/outbox.py"),
    ("INSERT order, lines, history (bulk_insert in _order_insert)", "bulk_insert", "apps/core/db.py"),
    ("_order_insert rest (model instances, FSM)", "_order_insert", "apps/orders/services.py"),
    ("order_create rest", "order_create", "apps/orders/services.py"),
    ("order_representation (response dict)", "order_representation", "apps/orders/api/serializers.py"),
    ("DRF response rendering (JSONRenderer)", "rendered_content", "rest_framework/response.py"),
    ("DRF dispatch rest (Request wrap, initial, permissions, negotiation)", "dispatch", "rest_framework/views.py"),
    ("Django close_old_connections (request signals; CONN_HEALTH_CHECKS)", "close_old_connections", "django/db/"),
    ("Django middleware chain + URL resolving", "get_response", "django/core/handlers/base.py"),
    ("Django WSGIRequest / response objects", "__call__", "django/core/handlers/wsgi.py"),
    ("gunicorn HTTP parse + socket I/O", "handle", "gunicorn/workers/sync.py"),
    # celery worker: the relay the nudges trigger
    ("relay: outbox_deliver (lock event, load deliveries, UPDATE, COMMIT) per event", "outbox_deliver", "apps/"),
    ("relay: pending events SELECT", "pending_event_ids", "apps/core/outbox.py"),
    ("relay: pending events SELECT", "pending_events", "apps/core/outbox.py"),
    ("relay: outbox_relay rest", "outbox_relay", "apps/core/outbox.py"),
    ("celery task execution (trace, ack)", "trace_task", "celery/"),
]
# Used only when no PHASES rule matched (deepest first as well).
FALLBACK_PHASES: list[tuple[str, str, str]] = [
    ("celery worker: prefork pool, kombu consume, task protocol", "", "kombu/"),
    ("celery worker: prefork pool, kombu consume, task protocol", "", "celery/"),
    ("celery worker: prefork pool, kombu consume, task protocol", "", "billiard/"),
    ("gunicorn worker loop", "", "gunicorn/"),
]

# Layers: a sample is charged to the deepest frame that belongs to one of these libraries (other stdlib
# frames such as copy.py are passed through to their caller). Rule: (label, file part).
LAYERS: list[tuple[str, str]] = [
    ("psycopg (send/receive, adapt, quote)", "psycopg/"),
    ("kombu / celery / redis-py", "kombu/"),
    ("kombu / celery / redis-py", "celery/"),
    ("kombu / celery / redis-py", "redis/"),
    ("kombu / celery / redis-py", "billiard/"),
    ("json (stdlib)", "json/"),
    ("logging (stdlib)", "logging/"),
    ("Django ORM: SQL compiler", "django/db/models/sql/"),
    ("Django ORM: model __init__ / fields", "django/db/models/base.py"),
    ("Django ORM: model __init__ / fields", "django/db/models/fields/"),
    ("Django ORM: queryset / expressions / lookups", "django/db/models/"),
    ("Django DB backend wrappers / transactions", "django/db/"),
    ("DRF fields / serializers", "rest_framework/fields.py"),
    ("DRF fields / serializers", "rest_framework/serializers.py"),
    ("DRF other (views, request, auth, renderers)", "rest_framework/"),
    ("django-fsm", "django_fsm/"),
    ("Django HTTP / middleware / utils", "django/"),
    ("whitenoise / viewflow middleware", "whitenoise/"),
    ("whitenoise / viewflow middleware", "viewflow/"),
    ("gunicorn", "gunicorn/"),
    ("project code (apps/, retailops/)", "apps/"),
    ("project code (apps/, retailops/)", "retailops/"),
]

# Cross-cutting, inclusive (a sample counts for every rule one of its frames matches; rows overlap).
INCLUSIVE: list[tuple[str, str, str]] = [
    ("all SQL statements end to end (Django CursorWrapper.execute*)", "_execute_with_wrappers", "django/db/backends/"),
    ("psycopg cursor.execute", "execute", "psycopg/cursor.py"),
    ("Django ORM SQL compile (as_sql)", "as_sql", "django/db/models/sql/"),
    ("Django ORM bulk_create (incl. execute)", "bulk_create", "django/db/models/query.py"),
    ("apps.core.db.bulk_insert (incl. execute)", "bulk_insert", "apps/core/db.py"),
    ("Django ORM model __init__", "Model.__init__", "django/db/models/base.py"),
    ("DRF field/serializer deepcopy (Serializer.fields)", "deepcopy", "copy.py"),
    ("DRF run_validation", "run_validation", "rest_framework/"),
    ("celery apply_async", "apply_async", "celery/app/task.py"),
    ("kombu Producer.publish", "publish", "kombu/messaging.py"),
    ("redis-py client construction (per publish)", "Redis.__init__", "redis/client.py"),
    ("json dumps/loads", "", "json/"),
    ("logging", "", "logging/"),
    ("copy.deepcopy (any)", "deepcopy", "copy.py"),
]


def _in(file: str, part: str) -> bool:
    return file.startswith(part) or f"/{part}" in file


def _frame(text: str) -> tuple[str, str]:
    """'Class.func (path/file.py:12)' -> ('Class.func', 'path/file.py')."""
    if text.endswith(")") and " (" in text:
        func, _, rest = text.rpartition(" (")
        return func, rest[:-1].rsplit(":", 1)[0]
    return text, ""


def aggregate_profile(path: Path) -> dict[str, Any]:
    """Read py-spy's raw (collapsed) output and break the samples down three ways."""
    phases: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if not f.startswith("process ")]
        total += n
        phase = "other"
        for rules in (PHASES, FALLBACK_PHASES):
            hit = next(
                (
                    label
                    for func, file in reversed(frames)
                    for label, suffix, part in rules
                    if func.endswith(suffix) and _in(file, part)
                ),
                None,
            )
            if hit:
                phase = hit
                break
        phases[phase] += n
        layers[
            next(
                (label for _, file in reversed(frames) for label, part in LAYERS if _in(file, part)),
                "stdlib / other",
            )
        ] += n
        for label, suffix, part in INCLUSIVE:
            if any(func.endswith(suffix) and _in(file, part) for func, file in frames):
                inclusive[label] += n
        if frames:
            func, file = frames[-1]
            leaves[f"{func} ({file})"] += n

    def share(c: Counter[str], limit: int = 40) -> list[tuple[str, float, int]]:
        return [(k, round(100 * v / total, 1), v) for k, v in c.most_common(limit)] if total else []

    return {
        "samples": total,
        "phases": share(phases),
        "layers": share(layers),
        "inclusive": share(inclusive),
        "top_leaf_functions": share(leaves, 20),
    }


def profile_load(
    dep: Deployment, specs: list[dict[str, Any]], seconds: int, rate: int, out_dir: Path, stamp: str
) -> dict[str, Any]:
    """Run the app load again with py-spy attached.

    --gil: only samples of a thread holding the GIL count. Without it, on a saturated 2-core machine
    py-spy counts a process that is runnable but waiting for a CPU as active at its last wait point
    (Connection.wait, select), which drowns the real CPU costs.
    """
    pyspy = shutil.which("py-spy", path=str(dep.root / ".venv" / "bin")) or shutil.which("py-spy")
    if not pyspy:
        return {"skipped": "py-spy not found (pip install py-spy into .venv; it is not a project requirement)"}
    assert dep.web is not None and dep.worker is not None
    targets = {"web": (dep.web.pid, out_dir / f"intake-{stamp}-web.txt")}
    targets["worker"] = (dep.worker.pid, out_dir / f"intake-{stamp}-worker.txt")

    def record() -> dict[str, Any]:
        while time.time() < specs[0]["start_at"] + specs[0]["warmup"]:
            time.sleep(0.05)
        procs = {
            name: subprocess.Popen(
                [pyspy, "record", "--pid", str(pid), "--subprocesses", "--gil", "-r", str(rate), "-d", str(seconds)]
                + ["-f", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, (pid, out) in targets.items()
        }
        rcs = {name: p.wait(timeout=seconds + 60) for name, p in procs.items()}
        return {name: {"rc": rc, "stderr": procs[name].stderr.read()[-300:]} for name, rc in rcs.items()}

    parts, spy = run_load("app", specs, wait=record)
    orders = sum(len(p["latencies"]) for p in parts)
    result: dict[str, Any] = {
        "load": {
            "orders_per_s": round(orders / specs[0]["duration"], 1),
            "errors": sum(sum(p["errors"].values()) for p in parts),
        },
        "py_spy": spy,
        "command": f"py-spy record --pid <master> --subprocesses --gil -r {rate} -d {seconds} -f raw",
    }
    for name, (_pid, out) in targets.items():
        if out.exists():
            result[name] = {"file": str(out), **aggregate_profile(out)}
    return result


# --- main ---------------------------------------------------------------------------------------------


def make_specs(n: int, *, warmup: float, duration: float, tag: str, common: dict[str, Any]) -> list[dict]:
    start_at = time.time() + 3.0  # spawn start-up happens before the common start line
    return [
        {
            **common,
            "seed": hash((tag, i)) & 0xFFFFFFFF,
            "tag": f"{tag}{i}",
            "start_at": start_at,
            "warmup": warmup,
            "duration": duration,
        }
        for i in range(n)
    ]


def db_counters(dep: Deployment) -> dict[str, int]:
    """Cumulative transaction and row counters of the bench database (pg_stat_database, ~1 s lag)."""
    with psycopg.connect(dep.admin_url) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, sessions FROM pg_stat_database "
            "WHERE datname = %s",
            (dep.db,),
        ).fetchone()
    names = ("transactions", "rollbacks", "rows_inserted", "rows_updated", "rows_fetched", "new_connections")
    return dict(zip(names, row, strict=True))


def broker_publishes(url: str) -> int:
    """LPUSH calls on the Redis server so far (kombu publishes a task with one LPUSH). Server-wide:
    approximate if something else pushes to lists on the same server at the same time."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return int(client.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))
    finally:
        client.close()


def measure(
    kind: str,
    dep: Deployment,
    common: dict,
    *,
    clients: int,
    warmup: float,
    duration: float,
    tag: str,
    max_orders: int,
    quiet_wait: float,
) -> dict[str, Any]:
    """One bounded round: warm-up, then `duration` seconds measured (orders, latency, CPU, DB counters)."""
    t0 = time.monotonic()
    vacuumed = vacuum_if_no_autovacuum(dep.db_url)
    checkpoint(dep.admin_url)
    if time.monotonic() - t0 > 5:
        log(f"  {'VACUUM ANALYZE + ' if vacuumed else ''}CHECKPOINT took {time.monotonic() - t0:.1f} s")
    background = wait_quiet(quiet_wait)
    outbox_before = max_outbox_id(dep.db_url)
    sessions = {"gunicorn": dep.web.pid, "celery": dep.worker.pid} if kind == "app" else {}  # type: ignore[union-attr]
    meter = CpuMeter(sessions=sessions, db=dep.db)
    specs = make_specs(clients, warmup=warmup, duration=duration, tag=tag, common=common)
    for s in specs:
        s["max_orders"] = max_orders

    def window() -> dict[str, Any]:
        while time.time() < specs[0]["start_at"] + warmup:
            time.sleep(0.01)
        meter.start()
        before = {**db_counters(dep), "broker_publishes": broker_publishes(dep.broker_url)}
        while time.time() < specs[0]["start_at"] + warmup + duration:
            time.sleep(0.05)
        cpu = meter.stop()
        time.sleep(1.2)  # let the backends flush their statistics
        after = {**db_counters(dep), "broker_publishes": broker_publishes(dep.broker_url)}
        return {"cpu": cpu, "db": {k: after[k] - before[k] for k in after}}

    parts, extra = run_load(kind, specs, wait=window)
    result = {"parts": parts, "duration": duration, "warmup": warmup, "background_busy_pct": background, **extra}
    t0 = time.monotonic()
    if kind == "app":  # let the relay finish before anything else is measured
        result["drain"] = drain_outbox(dep.db_url, timeout=120)
    else:
        result["settled_outbox_rows"] = settle_raw_outbox(dep.db_url, outbox_before)
    log(
        f"  {kind}: {sum(len(p['latencies']) for p in parts) / duration:.1f} orders/s; "
        f"{'outbox drained' if kind == 'app' else 'raw outbox rows settled'} in {time.monotonic() - t0:.1f} s"
    )
    return result


def per_order(result: dict[str, Any]) -> dict[str, Any]:
    """CPU milliseconds and database work per measured order (the DB counters include the relay's work)."""
    n = result["orders"] or 1
    cpu = {k: round(1000 * v / n, 2) for k, v in result["cpu"]["cpu_s"].items() if v}
    cpu["total_busy"] = round(1000 * result["cpu"]["machine_busy_cpu_s"] / n, 2)
    return {"cpu_ms": cpu, "db": {k: round(v / n, 2) for k, v in result["db"].items()}}


def own_cpu_ms(result: dict[str, Any]) -> float:
    """CPU ms per order of every process the benchmark runs (clients, servers, PostgreSQL), without foreign load."""
    own = sum(v for k, v in result["cpu"]["cpu_s"].items() if k not in ("foreign", "profiler"))
    return round(1000 * own / (result["orders"] or 1), 2)


def print_profile(name: str, prof: dict[str, Any], cpu_ms_per_order: float | None) -> None:
    def ms(share: float) -> str:
        return f"  ~{share * cpu_ms_per_order / 100:5.2f} ms/order" if cpu_ms_per_order else ""

    print(f"\n  py-spy CPU samples of the {name}: {prof['samples']} ({prof['file']})")
    for title, key, limit in (
        ("by phase (deepest matching frame; shares add up to 100%)", "phases", 30),
        ("by library (deepest library frame; add up to 100%)", "layers", 30),
        ("cross-cutting (inclusive; rows overlap)", "inclusive", 30),
        ("hottest leaf functions", "top_leaf_functions", 10),
    ):
        print(f"   {title}:")
        for label, share, _n in prof[key][:limit]:
            print(f"     {share:5.1f}%{ms(share) if key != 'top_leaf_functions' else ''}  {label}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project-root", type=Path, default=DEFAULT_ROOT, help="project to serve (default: this one)")
    p.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    p.add_argument(
        "--broker-url",
        default=os.environ.get("BENCH_BROKER_URL"),
        help="Redis URL for Celery (default: a free database 12..8 on the server of REDIS_URL)",
    )
    p.add_argument("--workers", default="auto", help="gunicorn workers, or 'auto': try --sweep, keep the fastest")
    p.add_argument("--sweep", default="2,3,4", help="worker counts tried by --workers auto")
    p.add_argument(
        "--gunicorn-arg",
        action="append",
        default=[],
        help="extra gunicorn argument for experiments, repeatable (default: none, as deployed)",
    )
    p.add_argument("--sweep-duration", type=float, default=8.0, help="seconds measured per sweep step")
    p.add_argument("--clients", type=int, default=4, help="client processes (app) and psycopg processes (raw)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds measured per side (app, raw)")
    p.add_argument("--rounds", type=int, default=2, help="alternate app and raw this many times (duration split)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    p.add_argument("--max-orders", type=int, default=0, help="also stop each client after this many orders")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each round wait up to this long for other load on the machine to drop under 20%% (0: never)",
    )
    p.add_argument("--products", type=int, default=300)
    p.add_argument("--stock", type=int, default=1_000_000, help="units of every product at every location")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy phase")
    p.add_argument("--profile-seconds", type=int, default=15)
    p.add_argument("--profile-rate", type=int, default=200)
    p.add_argument("--keep-db", action="store_true", help="do not drop the bench database (for inspection)")
    p.add_argument("--label", default="", help="free text stored in the JSON result (e.g. the experiment name)")
    args = p.parse_args(argv)
    if args.duration > 300 or args.sweep_duration > 120 or args.profile_seconds > 120:
        p.error("keep phases short: --duration <= 300, --sweep-duration <= 120, --profile-seconds <= 120")

    root = args.project_root.resolve()
    if not args.broker_url:
        args.broker_url = free_redis_db(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    out_dir = BENCH_DIR / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logdir = out_dir / f"logs-{stamp}"
    logdir.mkdir()
    dep = Deployment(
        root=root,
        database_url=args.database_url,
        broker_url=args.broker_url,
        logdir=logdir,
        gunicorn_args=args.gunicorn_arg,
    )
    username = "bench"
    result: dict[str, Any] = {"label": args.label, "started": stamp, "args": {**vars(args), "project_root": str(root)}}

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        log(f"database {dep.db}, broker {args.broker_url}, project {root}, logs {logdir}")
        token = dep.setup(username)
        result["server"] = server_settings(dep.db_url)
        result["machine"] = {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            result["git"] = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        dep.start_worker()
        sweep = [int(w) for w in args.sweep.split(",")] if args.workers == "auto" else []
        dep.start_web(sweep[0] if sweep else int(args.workers), token)
        t0 = time.monotonic()
        seeded = seed(dep.base, token, products=args.products, stock=args.stock)
        log(
            f"seeded 3 locations, {len(seeded['skus'])} products, {args.stock} of each everywhere "
            f"in {time.monotonic() - t0:.1f} s"
        )
        drain_outbox(dep.db_url, timeout=60)
        common: dict[str, Any] = {"token": token, "skus": seeded["skus"]}
        phase = {"clients": args.clients, "max_orders": args.max_orders, "quiet_wait": args.quiet_wait}

        if sweep:
            result["sweep"] = []
            for w in sweep:
                if dep.workers != w:
                    dep.start_web(w, token)
                common["base"] = dep.base
                r = summarize(
                    "app",
                    [measure("app", dep, common, warmup=2.0, duration=args.sweep_duration, tag=f"S{w}c", **phase)],
                )
                result["sweep"].append(
                    {
                        "workers": w,
                        "orders_per_s": r["orders_per_s"],
                        "p95_ms": r["latency_ms"]["p95"],
                        "errors": r["errors"],
                    }
                )
                log(f"sweep: {w} gunicorn workers: {r['orders_per_s']} orders/s, p95 {r['latency_ms']['p95']} ms")
            best = max(s["orders_per_s"] for s in result["sweep"])
            # Fewer workers unless more are clearly (>3%) faster: less memory, fewer DB connections.
            chosen = min(s["workers"] for s in result["sweep"] if s["orders_per_s"] >= 0.97 * best)
            log(f"chose {chosen} gunicorn workers")
        else:
            chosen = int(args.workers)
        if dep.workers != chosen:
            dep.start_web(chosen, token)
        common["base"] = dep.base

        raw_common = {"dsn": dep.db_url, "skus": seeded["skus"], "location": seeded["preferred_location"]}
        raw_common["username"] = username
        each = args.duration / args.rounds
        app_rounds, raw_rounds = [], []
        for r in range(args.rounds):
            # App and raw alternate, so a change in background load hits both sides alike.
            log(
                f"round {r + 1}/{args.rounds}: app, {args.clients} HTTP clients, {args.warmup:g} s warm-up + {each:g} s"
            )
            app_rounds.append(measure("app", dep, common, warmup=args.warmup, duration=each, tag=f"A{r}c", **phase))
            log(
                f"round {r + 1}/{args.rounds}: raw, {args.clients} psycopg processes, "
                f"{args.warmup:g} s warm-up + {each:g} s"
            )
            raw_rounds.append(measure("raw", dep, raw_common, warmup=args.warmup, duration=each, tag=f"R{r}c", **phase))
        app, raw = summarize("app", app_rounds), summarize("raw", raw_rounds)
        app["gunicorn_workers"] = dep.workers
        app["effects"] = effects_per_order(dep.db_url, "A")
        raw["effects"] = effects_per_order(dep.db_url, "R")
        result["app"], result["raw"] = app, raw
        result["stock_consistent"] = stock_consistent(dep.db_url)
        result["ratio"] = round(app["orders_per_s"] / raw["orders_per_s"], 3) if raw["orders_per_s"] else None
        # Throughput is CPU-bound on both sides, so the ratio of our own CPU per order is the same
        # comparison with other tenants' load on the machine taken out.
        app["own_cpu_ms_per_order"], raw["own_cpu_ms_per_order"] = own_cpu_ms(app), own_cpu_ms(raw)
        result["cpu_ratio"] = round(raw["own_cpu_ms_per_order"] / app["own_cpu_ms_per_order"], 3)

        if not args.no_profile:
            log(f"profile phase: py-spy on gunicorn and celery for {args.profile_seconds} s under the same load")
            specs = make_specs(
                args.clients, warmup=args.warmup, duration=args.profile_seconds + 2, tag="P", common=common
            )
            result["profile"] = profile_load(dep, specs, args.profile_seconds, args.profile_rate, out_dir, stamp)
    except KeyboardInterrupt:
        log("interrupted")
        result["interrupted"] = True
    finally:
        dep.stop(keep_db=args.keep_db)

    out = out_dir / f"order_intake-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    report(result)
    log(f"result written to {out}")
    app, raw = result.get("app"), result.get("raw")
    ok = bool(app and raw and app["errors"] == 0 and raw["errors"] == 0 and result.get("stock_consistent"))
    return 0 if ok else 1


def report(result: dict[str, Any]) -> None:
    app, raw = result.get("app"), result.get("raw")
    if not app or not raw:
        return
    rule = "=" * 110
    print(f"\n{rule}")
    print(
        f"app {app['orders_per_s']:.1f} orders/s  raw {raw['orders_per_s']:.1f} orders/s  ratio {result['ratio']:.2f}"
        f"   (gunicorn --workers {app['gunicorn_workers']}, {app['clients']} clients, {app['duration_s']:g} s measured)"
    )
    for side in (app, raw):
        lat = side["latency_ms"]
        print(
            f"{side['kind']} latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}"
            f"   orders {side['orders']}  errors {side['errors']}"
        )
        if side["errors"]:
            print(f"  {side['kind']} errors: {side['errors_by_kind']} e.g. {side['error_samples'][:2]}")
    print("same durable effects per order (rows counted in the database afterwards):")
    for side in (app, raw):
        eff = side["effects"]
        print(f"  {side['kind']} {eff['per_order']}  ({eff['allocated']}/{eff['orders']} orders allocated)")
    print(
        "  raw = per order ONE transaction: INSERT order, INSERT 3 lines, 3 guarded UPDATE stock_stocklevel\n"
        "  in id order, INSERT 3 reservations, INSERT the 2 history rows and the 2 outbox rows _order_insert\n"
        "  writes; durable COMMIT, same database, same server settings.\n"
        "  Not on the raw side: HTTP, auth, validation, the Celery nudge and the relay that delivers the outbox rows."
    )
    print(f"stock_stocklevel.reserved == active reservations on every level: {result.get('stock_consistent')}")
    print(
        f"own CPU per order (all bench processes, foreign load excluded): app {app['own_cpu_ms_per_order']} ms, "
        f"raw {raw['own_cpu_ms_per_order']} ms  ->  CPU-cost ratio raw/app {result['cpu_ratio']:.2f}"
    )
    print(
        f"orders/s by round: app {app['orders_per_s_by_round']}  raw {raw['orders_per_s_by_round']}   "
        f"(machine busy before each round without the bench: app {app['background_busy_pct_by_round']}%, "
        f"raw {raw['background_busy_pct_by_round']}%)"
    )
    srv = result.get("server", {})
    print("server: " + ", ".join(f"{k}={v}" for k, v in srv.items()))
    for side in (app, raw):
        po = per_order(side)
        cpu = side["cpu"]
        print(f"{side['kind']} per order: CPU ms {po['cpu_ms']}")
        print(f"    db {po['db']}   machine busy {cpu['machine_busy_pct']}%")
        if cpu["cpu_s"].get("foreign", 0) > 0.1 * cpu["machine_busy_cpu_s"]:
            print(
                f"    WARNING: {cpu['cpu_s']['foreign']} CPU-s of {cpu['machine_busy_cpu_s']} were used by processes "
                "outside this benchmark; the machine was shared, figures are pessimistic"
            )
    print(f"outbox relay after the app phase: {app['drain']}")
    if result.get("sweep"):
        print(
            "gunicorn worker sweep: "
            + ", ".join(f"{s['workers']}w {s['orders_per_s']}/s p95 {s['p95_ms']} ms" for s in result["sweep"])
        )
    prof = result.get("profile")
    if prof:
        if "skipped" in prof:
            print(f"profile skipped: {prof['skipped']}")
        else:
            print(f"\nprofile run (py-spy attached, so slower): {prof['load']}; {prof['command']}")
            per = per_order(app)["cpu_ms"]
            if "web" in prof:
                print_profile("gunicorn workers", prof["web"], per.get("gunicorn"))
            if "worker" in prof:
                print_profile("celery worker", prof["worker"], per.get("celery"))
    print(rule)


if __name__ == "__main__":
    sys.exit(main())
