"""Tabulate order-intake results: one line per JSON file from bench/order_intake.py.

Usage: .venv/bin/python bench/compare.py [bench/results/order_intake-*.json ...]
Columns per app order: CPU ms of gunicorn, celery and the PostgreSQL backends, transactions
(xact), new PostgreSQL connections (conn) and broker publishes (pub). `foreign` is CPU used by other
processes on the machine per app order: a run with a large value was disturbed and its rates are
pessimistic; the per-order counts do not depend on it.
"""

import json
import sys
from pathlib import Path


def row(path: Path) -> str | None:
    r = json.loads(path.read_text())
    app, raw = r.get("app"), r.get("raw")
    if not app or not raw or "db" not in app:  # interrupted, or written by an older version
        return None
    n = app["orders"] or 1
    cpu = app["cpu"]["cpu_s"]

    def ms(key: str) -> float:
        return 1000 * cpu.get(key, 0.0) / n

    xact = app["db"].get("transactions", app["db"].get("commits", 0)) / n
    pub = app["db"].get("broker_publishes", float("nan")) / n

    return (
        f"{(r.get('label') or '-')[:28]:28} {app['orders_per_s']:7.1f} {raw['orders_per_s']:7.1f} {r['ratio']:6.3f} "
        f"{r.get('cpu_ratio', 0):6.3f} {ms('gunicorn'):6.1f} {ms('celery'):6.1f} {ms('postgres_bench_backends'):6.1f} "
        f"{xact:5.1f} {app['db'].get('new_connections', 0) / n:5.2f} {pub:5.2f} {ms('foreign'):7.1f}  "
        f"{path.name}"
    )


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or sorted((Path(__file__).parent / "results").glob("order_intake-*.json"))
    print(
        f"{'label':28} {'app/s':>7} {'raw/s':>7} {'ratio':>6} {'cpu-r':>6} {'gunic':>6} {'celery':>6} {'pg':>6} "
        f"{'xact':>5} {'conn':>5} {'pub':>5} {'foreign':>7}  (ms of CPU and counts per app order)"
    )
    for f in files:
        line = row(f)
        if line:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
