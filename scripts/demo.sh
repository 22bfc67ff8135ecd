#!/usr/bin/env bash
# `make demo`: the portal with demo data, a Celery worker and beat, on the embedded setup (SQLite and
# kombu's filesystem broker under var/) unless DATABASE_URL / CELERY_BROKER_URL are set.
# Ctrl-C stops all three. PORT (default 8000) moves the portal; DEMO_PASSWORD sets the users' password.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=retailops.settings.local
# Same default as settings.base (DATA_DIR); the broker folders must exist before anything publishes.
DATA_DIR=${RETAILOPS_DATA_DIR:-var}
LOG_DIR=$DATA_DIR/log
mkdir -p "$DATA_DIR/broker/out" "$DATA_DIR/broker/processed" "$LOG_DIR"

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if _port_open "$PORT"; then
  echo "port $PORT is already in use: stop whatever runs there or choose another, e.g. PORT=8001 make demo"
  exit 1
fi

echo "database: ${DATABASE_URL:+DATABASE_URL}${DATABASE_URL:-SQLite in $DATA_DIR/}"
echo "broker:   ${CELERY_BROKER_URL:+CELERY_BROKER_URL}${CELERY_BROKER_URL:-filesystem transport in $DATA_DIR/broker/}"
"$BIN/python" manage.py migrate --noinput -v 0
"$BIN/python" manage.py seed_demo
# Collected even with DEBUG on: WhiteNoise then serves from the finders, but with DJANGO_DEBUG=0 it
# serves only what is in STATIC_ROOT, so the demo works either way.
"$BIN/python" manage.py collectstatic --noinput -v 0

pids=()
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -eq 0 ] && return
  echo "stopping the portal, worker and beat..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # A Celery worker notices a shutdown between polls of the broker, which takes a few seconds.
  for _ in $(seq 150); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each process runs in its own session (setsid), so Ctrl-C reaches only this script and the trap
# sends every process exactly one TERM (gunicorn and Celery handle INT followed by TERM badly).
# Solo pool: one task at a time suits SQLite's single writer and the filesystem transport.
setsid "$BIN/celery" -A retailops worker --pool=solo --loglevel=INFO >"$LOG_DIR/worker.log" 2>&1 &
pids+=($!)
setsid "$BIN/celery" -A retailops beat --scheduler django_celery_beat.schedulers:DatabaseScheduler --loglevel=INFO \
  >"$LOG_DIR/beat.log" 2>&1 &
pids+=($!)

# gunicorn rather than runserver: it is what the Docker image runs, so the demo exercises the same
# WSGI server and WhiteNoise static serving as production; it has no autoreloader (restarts on every
# edit, an extra child process to clean up); and two workers keep the portal responsive while one is
# busy. No control socket: gunicorn would otherwise create one under $HOME.
setsid "$BIN/gunicorn" retailops.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
  --graceful-timeout 5 --access-logfile - --no-control-socket &
pids+=($!)

for _ in $(seq 100); do
  _port_open "$PORT" && break
  sleep 0.2
done
cat <<EOF

RetailOps demo is running.
  Log in:   http://127.0.0.1:$PORT/accounts/login/   (admin: http://127.0.0.1:$PORT/admin/)
  API docs: http://127.0.0.1:$PORT/api/docs/
  Users:    admin (superuser), store.manager, approver, finance
  Password: ${DEMO_PASSWORD:-retailops-demo}   (unless the users existed before with another one)
  Logs:     worker $LOG_DIR/worker.log, beat $LOG_DIR/beat.log; requests below.
Press Ctrl-C to stop.

EOF
# All three run in the background and the script waits for the first to end: a signal then runs
# the trap at once (bash defers traps while a foreground child runs), and if the worker or beat
# dies the demo stops instead of silently running without background jobs.
set +e
wait -n "${pids[@]}"
status=$?
echo "a demo process exited (status $status)"
exit "$status"
