#!/usr/bin/env bash
# The operator's figures, export and proofs on a ledger of a million records (issue 14).
# Fills an SQLite file and a PostgreSQL schema with `loadgen --fill` (records spread over
# 90 days, through the ledger's own writer), starts the release service on each, and times
# GET /v1/operator/stats, /export and /consents/{id} with curl, sampling the service's
# resident memory during the exports. Prints the figures and writes bench/operator.md.
#
#   bench/operator.sh                 # N=1000000 DAYS=90; both backends
#   BACKENDS=sqlite N=200000 bench/operator.sh
#
# The filled ledgers stay in $WORK (and the schema bench_operator) for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
DAYS=${DAYS:-90}
RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=${WORK:-/tmp/vivus-operator-bench-v2}
PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/vivus_consent_test}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/vivus-consent-server
LOADGEN=$TARGET/release/examples/loadgen
OUT=bench/operator.md
mkdir -p "$WORK"

cargo build --release -q -p vivus-consent-server --bin vivus-consent-server --example loadgen

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
S=http://127.0.0.1:$PORT
OFFSET=%2B05:00
day() { TZ=Asia/Almaty date -d "$1" +%F; }
TODAY=$(day today)
RESULTS=$WORK/results.md
: > "$RESULTS"

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# rss_kb PID: the resident set of a process, in KiB
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# timed LABEL URL: RUNS requests; the median time (s), the size and the peak RSS (MiB) seen
timed() {
  local label=$1 url=$2 times=() size=0 peak=0
  for _ in $(seq "$RUNS"); do
    local samples=$WORK/rss.$$
    ( while kill -0 "$PID" 2>/dev/null; do rss_kb "$PID" >> "$samples"; sleep 0.05; done ) &
    local sampler=$!
    read -r t size < <(curl -s -o /dev/null -w '%{time_total} %{size_download}\n' -H "authorization: Bearer $TOKEN" "$url")
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    local p; p=$(sort -n "$samples" | tail -1); rm -f "$samples"
    [ "${p:-0}" -gt "$peak" ] && peak=$p
    times+=("$t")
  done
  local m; m=$(printf '%s\n' "${times[@]}" | median)
  printf '| %s | %s | %s | %.3f | %s | %.0f |\n' "$BACKEND" "$label" "$RECORDS_LABEL" "$m" "$(numfmt --to=iec --suffix=B "$size")" "$((peak / 1024))" | tee -a "$RESULTS"
}

for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite) DB=$WORK/ledger-$N.sqlite3 ;;
    postgres)
      psql "$PG_URL" -qc "CREATE SCHEMA IF NOT EXISTS bench_operator_$N" >/dev/null
      DB="$PG_URL?options=-c%20search_path%3Dbench_operator_$N" ;;
  esac
  KEYS=$WORK/keys
  if [ ! -e "$WORK/filled-$BACKEND-$N" ]; then
    echo "filling $BACKEND with $N records over $DAYS days…"
    "$LOADGEN" --fill "$N" --days "$DAYS" --database "$DB" --key-dir "$KEYS" | tee "$WORK/fill-$BACKEND-$N.txt"
    if [ "$BACKEND" = postgres ]; then
      # Index-only scans need the visibility map; autovacuum sets it on an insert-only table
      # in time, the benchmark does not wait for it.
      psql "$DB" -qc "VACUUM ANALYZE ledger" >/dev/null
    fi
    touch "$WORK/filled-$BACKEND-$N"
  fi
  "$BIN" --listen "127.0.0.1:$PORT" --database "$DB" --key-dir "$KEYS" --rate-limit-per-second 0 \
    --operator-failed-auth-per-minute 0 2>"$WORK/service-$BACKEND.log" &
  PID=$!
  trap 'kill $PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "$S/healthz" >/dev/null && break; sleep 0.2; done
  TOKEN=$("$BIN" operator add "bench-$(date +%s%N)" --database "$DB" 2>/dev/null)
  echo "service up (pid $PID, rss $(( $(rss_kb "$PID") / 1024 )) MiB); load $(cut -d' ' -f1 /proc/loadavg)"
  echo "| backend | request | records | median s | size | peak RSS MiB |" | tee -a "$RESULTS"

  RECORDS_LABEL="$(printf '%s' "$N") over $DAYS days"
  curl -s -H "authorization: Bearer $TOKEN" "$S/v1/operator/stats?from=$(day "-$((DAYS)) days")&to=$TODAY&utcOffset=$OFFSET" >/dev/null # warm-up
  timed "stats, whole ledger by day" "$S/v1/operator/stats?from=$(day "-$((DAYS)) days")&to=$TODAY&utcOffset=$OFFSET"
  RECORDS_LABEL="~$((N * 30 / DAYS))"
  timed "stats, 30 days by day" "$S/v1/operator/stats?from=$(day '-29 days')&to=$TODAY&utcOffset=$OFFSET"
  RECORDS_LABEL="~$((N / DAYS))"
  timed "stats, one day by hour" "$S/v1/operator/stats?from=$(day '-1 day')&to=$(day '-1 day')&bucket=hour&utcOffset=$OFFSET"
  timed "export one day, csv" "$S/v1/operator/export?from=$(day '-1 day')&to=$(day '-1 day')&utcOffset=$OFFSET&format=csv"
  timed "export one day, jsonl" "$S/v1/operator/export?from=$(day '-1 day')&to=$(day '-1 day')&utcOffset=$OFFSET&format=jsonl"
  RECORDS_LABEL="$N"
  timed "export whole ledger, jsonl" "$S/v1/operator/export?format=jsonl"
  timed "export whole ledger, csv" "$S/v1/operator/export?format=csv"

  # A proof at the API's limit: the record 10,000 behind the head.
  curl -s -H "authorization: Bearer $TOKEN" -o "$WORK/recent.csv" \
    "$S/v1/operator/export?from=$(day '-1 day')&to=$TODAY&utcOffset=$OFFSET&format=csv"
  ID=$(awk -v n="$(wc -l < "$WORK/recent.csv")" 'NR == n - 10000 {split($0, f, ","); print f[2]}' "$WORK/recent.csv")
  RECORDS_LABEL="10,000 links"
  timed "consent $ID with its proof" "$S/v1/operator/consents/$ID"

  kill "$PID"; wait "$PID" 2>/dev/null || true
  trap - EXIT
  echo | tee -a "$RESULTS"
done

{
  echo "This run: $(date -u +'%Y-%m-%d %H:%M UTC'), load average before $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores."
  for f in "$WORK"/fill-*-"$N".txt; do [ -e "$f" ] && echo "Fill: $(cat "$f")"; done
} | tee -a "$RESULTS"
echo "results in $RESULTS; copy them into $OUT with the notes"
