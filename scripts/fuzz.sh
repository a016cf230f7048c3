#!/usr/bin/env bash
# Runs every cargo-fuzz target of vivus-consent-core (token_verify, consent_request) and of
# vivus-consent-server (request_decode: the service's JSON extractor and validation;
# cli_args: the command-line/config parser) for FUZZ_SECONDS seconds each (default 60).
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). New corpus entries go to
# a scratch directory, so the committed seed corpora in crates/{core,server}/fuzz/corpus/ stay
# small; crashes land in crates/<crate>/fuzz/artifacts/<target>/ and fail the run.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# crate:target:max_len. max_len sits a little above each input's limit: the verifier's
# 4 KiB token, the service's 8 KiB body (plus the content-type byte).
all="core:token_verify:5000 core:consent_request:5000 server:request_decode:9000 server:cli_args:2000"
# FUZZ_TARGETS="token_verify cli_args" picks a subset.
wanted="${FUZZ_TARGETS:-token_verify consent_request request_decode cli_args}"

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for entry in $all; do
  IFS=: read -r crate target max_len <<<"$entry"
  case " $wanted " in *" $target "*) ;; *) continue ;; esac
  fuzz_dir="$root/crates/$crate/fuzz"
  cd "$root/crates/$crate"
  mkdir -p "$scratch/$target"
  echo "fuzz: $target for ${seconds}s"
  log="$scratch/$target.log"
  set +e
  cargo +nightly fuzz run "$target" "$scratch/$target" "$fuzz_dir/corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 >"$log" 2>&1
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
