#!/usr/bin/env bash
# `make bench`: the order-intake benchmark (bench/order_intake.py): POST /api/v1/orders/ under gunicorn +
# Celery against a raw-SQL floor with the same durable rows, on a fresh PostgreSQL database that is
# dropped at the end. Arguments go to the script, e.g. `scripts/bench.sh --workers 3 --no-profile`
# or `BENCH_ARGS="--duration 10" make bench`; results land in bench/results/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PYTHON_BIN=$BIN/python
source scripts/services.sh

# The bench picks a Redis database nobody is connected to on the server of REDIS_URL (a test run's
# or another bench's Celery worker must not take its tasks); BENCH_BROKER_URL overrides.
if [ ! -x "$BIN/py-spy" ]; then
  echo "note: $BIN/py-spy not found, the profile phase is skipped (pip install py-spy into .venv; it is not a requirement)"
fi
# BENCH picks the benchmarks: all (default), order_intake or reconciliation. The reconciliation
# benchmark (bench/reconciliation.py: 10k / 50k / 100k settlement lines) takes BENCH_RECON_ARGS.
BENCH=${BENCH:-all}
# Not exec: the EXIT trap of services.sh must still stop any throwaway PostgreSQL/Redis it started.
if [ "$BENCH" = all ] || [ "$BENCH" = order_intake ]; then
  # shellcheck disable=SC2086
  "$PYTHON_BIN" bench/order_intake.py ${BENCH_ARGS:-} "$@"
fi
if [ "$BENCH" = all ] || [ "$BENCH" = reconciliation ]; then
  # shellcheck disable=SC2086
  "$PYTHON_BIN" bench/reconciliation.py ${BENCH_RECON_ARGS:-}
fi
