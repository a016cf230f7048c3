#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 60):
#   vivus-consent-core (crates/core/fuzz): token_verify, consent_request;
#   vivus-consent-server (crates/server/fuzz): request_decode (the service's JSON extractor
#     and validation), cli_args (the command-line/config parser);
#   the SDK (fuzz/): sdk_config (the integrator's config), pending_request (the pending
#     choice read back from localStorage, which any page script can write).
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). New corpus entries go to
# a scratch directory, so the committed seed corpora in {crates/core,crates/server,.}/fuzz/corpus/ stay
# small; crashes land in <crate dir>/fuzz/artifacts/<target>/ and fail the run.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# dir:target:max_len. max_len sits a little above each input's limit: the verifier's
# 4 KiB token, the service's 8 KiB body (plus the content-type byte).
# The SDK's config has no size limit of its own; 16 KiB covers any real one.
all="crates/core:token_verify:5000 crates/core:consent_request:5000 crates/server:request_decode:9000 crates/server:cli_args:2000 .:sdk_config:16000 .:pending_request:2000"
# FUZZ_TARGETS="token_verify cli_args" picks a subset.
wanted="${FUZZ_TARGETS:-token_verify consent_request request_decode cli_args sdk_config pending_request}"

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for entry in $all; do
  IFS=: read -r dir target max_len <<<"$entry"
  case " $wanted " in *" $target "*) ;; *) continue ;; esac
  fuzz_dir="$root/$dir/fuzz"
  cd "$root/$dir"
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
