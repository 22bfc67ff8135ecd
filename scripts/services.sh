#!/usr/bin/env bash
# Sourced by test.sh and bench.sh: make PostgreSQL and Redis available and export
# DATABASE_URL / REDIS_URL. Order: the environment, then the local services on 127.0.0.1, then
# throwaway instances from the local `postgres` / `redis-server` binaries in a temp dir.

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

_free_port() { "${PYTHON_BIN:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

_find_pg_bin() {
  local name=$1 dir
  command -v "$name" 2>/dev/null && return 0
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

RETAILOPS_TMP=${RETAILOPS_TMP:-$(mktemp -d -t retailops-services.XXXXXX)}
_cleanup_services() {
  [ -n "${_PG_DATA:-}" ] && $_PG_CTL -D "$_PG_DATA" -m immediate stop >/dev/null 2>&1
  [ -n "${_REDIS_PID:-}" ] && kill "$_REDIS_PID" 2>/dev/null
  rm -rf "$RETAILOPS_TMP"
}
trap _cleanup_services EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  if _port_open 5432; then
    export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/retailops"
  else
    initdb=$(_find_pg_bin initdb) && pg_ctl=$(_find_pg_bin pg_ctl) || {
      echo "make test needs PostgreSQL: set DATABASE_URL, run it on 127.0.0.1:5432, or install it (apt-get install postgresql)"; exit 2; }
    _PG_DATA="$RETAILOPS_TMP/pg"; port=$(_free_port)
    mkdir -p "$_PG_DATA"
    as=()
    if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
      pg_owner=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
      chown -R "$pg_owner" "$RETAILOPS_TMP"; chmod 755 "$RETAILOPS_TMP"; as=(runuser -u "$pg_owner" --)
    fi
    "${as[@]}" "$initdb" -D "$_PG_DATA" -U postgres -A trust >/dev/null
    "${as[@]}" "$pg_ctl" -D "$_PG_DATA" -l "$RETAILOPS_TMP/pg.log" -w \
      -o "-p $port -k $RETAILOPS_TMP -c listen_addresses=127.0.0.1" start >/dev/null
    _PG_CTL="${as[*]} $pg_ctl"
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/retailops"
    echo "started a throwaway PostgreSQL on port $port"
  fi
fi

if [ -z "${REDIS_URL:-}" ]; then
  if _port_open 6379; then
    export REDIS_URL="redis://127.0.0.1:6379/13"
  else
    command -v redis-server >/dev/null || {
      echo "make test needs Redis: set REDIS_URL, run it on 127.0.0.1:6379, or install it (apt-get install redis-server)"; exit 2; }
    port=$(_free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$RETAILOPS_TMP" >/dev/null &
    _REDIS_PID=$!
    for _ in $(seq 50); do _port_open "$port" && break; sleep 0.1; done
    export REDIS_URL="redis://127.0.0.1:$port/13"
    echo "started a throwaway Redis on port $port"
  fi
fi
