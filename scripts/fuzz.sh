#!/usr/bin/env bash
# Runs every cargo-fuzz target of vivus-consent-core for FUZZ_SECONDS seconds each (default 60).
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). New corpus entries go to
# a scratch directory, so the committed seed corpus in crates/core/fuzz/corpus/ stays small;
# crashes land in crates/core/fuzz/artifacts/<target>/ and fail the run.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_dir="$root/crates/core/fuzz"
# FUZZ_TARGETS="token_verify" picks a subset.
targets=(${FUZZ_TARGETS:-token_verify consent_request})

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd "$root/crates/core"
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  echo "fuzz: $target for ${seconds}s"
  log="$scratch/$target.log"
  # -max_len caps inputs a little above the verifier's 4 KiB token limit.
  set +e
  cargo +nightly fuzz run "$target" "$scratch/$target" "$fuzz_dir/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=5000 -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target FAILED (exit $status); the input is in $fuzz_dir/artifacts/$target/" >&2
    exit "$status"
  fi
  echo "fuzz: $target ok, $(ls "$scratch/$target" | wc -l) new corpus entries this run"
done
