#!/usr/bin/env bash
# Crash test for the consent service: SIGKILL it under load (twice), restart it, and
# check that every consent that got a 2xx is in the ledger with the receipt it was
# given, and that the hash chain verifies. Exits non-zero on any loss.
#
#   scripts/crash-test.sh            (uses $CARGO_TARGET_DIR, default target/)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${CARGO_TARGET_DIR:-target}
CLIENTS=${CRASH_CLIENTS:-32}
cargo build --release --quiet -p vivus-consent-server --bin vivus-consent-server --example loadgen
BIN=$TARGET/release/vivus-consent-server
LOADGEN=$TARGET/release/examples/loadgen

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

DB=$WORK/ledger.sqlite3
ACKS=$WORK/acks.jsonl
PORT=

start_server() {
  local log=$WORK/server.$1.log
  "$BIN" --listen 127.0.0.1:${PORT:-0} --database "$DB" --key-dir "$WORK/keys" --rate-limit-per-second 0 >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if grep -q 'listening' "$log" 2>/dev/null; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "crash-test: the server did not start:"; cat "$log"; exit 1; fi
    sleep 0.1
  done
  PORT=$(grep -o 'listen=127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
  [ -n "$PORT" ] || { echo "crash-test: no listen address in the log"; cat "$log"; exit 1; }
}

acks() { if [ -f "$ACKS" ]; then wc -l <"$ACKS"; else echo 0; fi; }

for round in 1 2; do
  before=$(acks)
  start_server "$round"
  "$LOADGEN" --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --warmup 0 --duration 5 --acks "$ACKS" --label "crash-$round" >"$WORK/load.$round.txt" &
  LOAD_PID=$!
  sleep 2.5
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  wait "$LOAD_PID"
  after=$(acks)
  # The load generator counts a request that found the service gone (reset, refused) as an error.
  failed=$(grep -o 'errors [0-9]*' "$WORK/load.$round.txt" | head -1 | cut -d' ' -f2 || true)
  echo "crash-test round $round: SIGKILL under load; $((after - before)) consents acknowledged this round ($after so far), ${failed:-?} requests failed after the kill"
  # A round that acknowledged nothing, or where nothing failed, did not test a kill under load.
  if [ "$after" -le "$before" ]; then
    echo "crash-test: FAILED: no consent was acknowledged in round $round"; cat "$WORK/load.$round.txt" "$WORK/server.$round.log"; exit 1
  fi
  if [ "${failed:-0}" -eq 0 ]; then
    echo "crash-test: FAILED: no request failed in round $round, so the SIGKILL did not land under load"; cat "$WORK/load.$round.txt"; exit 1
  fi
done

# The ledger as the crash left it, before anything reopens it for writing: every token and
# signed checkpoint against the keys (records and their checkpoint commit together, so a
# crash leaves none unanchored).
"$BIN" ledger verify --database "$DB" --key-dir "$WORK/keys" --unanchored-grace-secs 0

start_server after
"$LOADGEN" --url "http://127.0.0.1:$PORT" --replay "$ACKS"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
"$BIN" ledger verify --database "$DB" --key-dir "$WORK/keys" --unanchored-grace-secs 0
echo "crash-test: passed"
