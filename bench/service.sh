#!/usr/bin/env bash
# Service benchmark (not a test): durable consents per second and p50/p99 latency at
# 1, 16 and 64 concurrent keep-alive clients over loopback, against SQLite (the
# default) and PostgreSQL. Writes bench/service.json and bench/service.md.
#
#   bench/service.sh                 BENCH_DURATION=10 seconds per run by default
#   VIVUS_BENCH_POSTGRES_URL=...     PostgreSQL to use (default: the test database)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${CARGO_TARGET_DIR:-target}
DURATION=${BENCH_DURATION:-10}
CLIENTS=${BENCH_CLIENTS:-1,16,64}
PG_URL=${VIVUS_BENCH_POSTGRES_URL:-${VIVUS_TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/vivus_consent_test}}
OUT=${BENCH_OUT:-bench/service.json}
cargo build --release --quiet -p vivus-consent-server --bin vivus-consent-server --example loadgen
BIN=$TARGET/release/vivus-consent-server
LOADGEN=$TARGET/release/examples/loadgen

WORK=$(mktemp -d)
SERVER_PID=
SCHEMA=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SCHEMA" ]; then psql -q "$PG_URL" -c "DROP SCHEMA $SCHEMA CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Rate limiting is off: every client comes from 127.0.0.1.
start_server() {
  local log=$WORK/server.$1.log
  "$BIN" --listen 127.0.0.1:0 --database "$2" --key-dir "$WORK/keys" --rate-limit-per-second 0 >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q 'listening' "$log" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: the server did not start:"; cat "$log"; exit 1; }
    sleep 0.1
  done
  PORT=$(grep -o 'listen=127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

note="$(nproc) cores shared by the service and the load generator; ${DURATION}s per run after 1s warm-up; rate limit off"

start_server sqlite "$WORK/ledger.sqlite3"
"$LOADGEN" --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --duration "$DURATION" --server-pid "$SERVER_PID" --label sqlite --out "$OUT" \
  --note "SQLite WAL, synchronous=FULL, one writer thread batching commits; $note"
stop_server

if psql -q "$PG_URL" -c 'select 1' >/dev/null 2>&1; then
  SCHEMA=bench_$$_$(date +%s)
  psql -q "$PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  sep='?'; case "$PG_URL" in *\?*) sep='&';; esac
  start_server postgres "${PG_URL}${sep}options=-c%20search_path%3D$SCHEMA"
  "$LOADGEN" --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --duration "$DURATION" --server-pid "$SERVER_PID" --label postgres --out "$OUT" \
    --note "PostgreSQL $(psql -qAt "$PG_URL" -c 'show server_version'), local, synchronous_commit=$(psql -qAt "$PG_URL" -c 'show synchronous_commit'), one writer task per instance batching under an advisory lock; $note"
  stop_server
else
  echo "bench: PostgreSQL at $PG_URL is not reachable; skipped (make tool-postgres starts one)"
fi
echo "bench: wrote $OUT and ${OUT%.json}.md"
