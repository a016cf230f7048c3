#!/usr/bin/env bash
# Offline dependency checks (no advisory database can be downloaded here), from the
# lock file through `cargo tree --offline` after `cargo fetch`; about a second when the
# crates are already downloaded.
#  1. The wasm SDK's tree (wasm32, normal edges) holds none of tokio, sqlx, getrandom,
#     mio, hyper, sha2 (docs/architecture.md: the SDK only verifies tokens; no I/O runtime,
#     no RNG, no signing).
#  2. Every dependency of the SDK's and the service's trees has a license the allowlist
#     accepts: each AND-term of its SPDX expression needs one allowed alternative.
#  3. Duplicate crate versions in each tree are listed (a warning, not a failure).
# Exit status 1 on a forbidden crate or a license outside the allowlist.
set -euo pipefail
cd "$(dirname "$0")/.."

# MPL-2.0 is not on the list: nothing needs it today, and its file-level copyleft would
# need a note on how modified files are published. Add it with that note if it comes.
allowed="MIT Apache-2.0 Apache-2.0-WITH-LLVM-exception BSD-2-Clause BSD-3-Clause ISC Zlib Unicode-3.0 Unicode-DFS-2016 CC0-1.0 Unlicense BSL-1.0 0BSD"
# sha2 comes only with the core's `sign` feature: its presence would mean the SDK links signing.
forbidden_in_wasm="tokio sqlx getrandom mio hyper sha2"

# `cargo tree --offline` reads only what is already downloaded; on a fresh machine the
# server's crates may not be yet (the wasm build fetched only its own), so fetch first.
cargo fetch --locked --quiet

status=0
# Both wasm builds: the SDK (default features) and the first stage (`boot`).
wasm_tree() { cargo tree --offline --locked -p vivus-consent --features boot --target wasm32-unknown-unknown -e normal "$@"; }
server_tree() { cargo tree --offline --locked -p vivus-consent-server -e normal "$@"; }

# --- 1. what must stay out of the wasm -----------------------------------------------
wasm_names="$(wasm_tree --prefix none -f '{p}' | awk '{print $1}' | sort -u)"
for name in $forbidden_in_wasm; do
  if grep -qx "$name" <<<"$wasm_names"; then
    echo "deps: FAIL: $name is in the wasm SDK's tree; see who pulls it in:" >&2
    wasm_tree -i "$name" >&2 || true
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "deps: wasm tree: $(wc -l <<<"$wasm_names") crates, none of: $forbidden_in_wasm"

# --- 2. licenses -----------------------------------------------------------------------
check_licenses() { # $1 = tree name; stdin = "name version|license" lines
  awk -F'|' -v allowed="$allowed" -v tree="$1" '
    BEGIN { n = split(allowed, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1; bad = 0 }
    {
      pkg = $1; lic = $2
      sub(/ \(\*\)$/, "", lic); sub(/ \(\*\)$/, "", pkg)
      if (lic == "") { printf "deps: FAIL: %s (%s tree) declares no SPDX license\n", pkg, tree; bad = 1; next }
      expr = lic
      gsub(/\//, " OR ", expr)                       # old "MIT/Apache-2.0" style
      gsub(/ WITH /, "-WITH-", expr)
      gsub(/[()]/, "", expr)
      m = split(expr, terms, / AND /)
      for (t = 1; t <= m; t++) {
        k = split(terms[t], alts, / OR /); good = 0
        for (j = 1; j <= k; j++) { gsub(/^ +| +$/, "", alts[j]); if (alts[j] in ok) good = 1 }
        if (!good) { printf "deps: FAIL: %s (%s tree): license \"%s\" is not on the allowlist\n", pkg, tree, lic; bad = 1; break }
      }
    }
    END { exit bad }'
}
if ! wasm_tree --prefix none -f '{p}|{l}' | sort -u | check_licenses wasm >&2; then status=1; fi
if ! server_tree --prefix none -f '{p}|{l}' | sort -u | check_licenses server >&2; then status=1; fi
server_count="$(server_tree --prefix none -f '{p}' | awk '{print $1}' | sort -u | wc -l)"
[ "$status" -eq 0 ] && echo "deps: licenses: every crate of both trees ($server_count in the service's) is on the allowlist"

# --- 3. duplicate versions (warn) ------------------------------------------------------
for tree in wasm server; do
  dups="$(${tree}_tree --duplicates --depth 0 --prefix none -f '{p}' 2>/dev/null | awk 'NF {print $1" "$2}' | sort -u)"
  if [ -n "$dups" ]; then
    names="$(awk '{print $1}' <<<"$dups" | uniq | tr '\n' ' ')"
    echo "deps: warning: $tree tree has several versions of: $names"
    awk '{printf "        %s %s\n", $1, $2}' <<<"$dups"
  else
    echo "deps: $tree tree: no duplicate versions"
  fi
done

exit "$status"
