#!/usr/bin/env python3
"""Bytes of a wasm build per crate, from `twiggy top` (shallow sizes, before wasm-opt).

    python3 scripts/wasm-weights.py WASM [BROTLI_BYTES]

WASM must keep its name section: the wasm-bindgen output before wasm-opt, e.g.
`pkg/` built with wasm-opt skipped, or `wasm-bindgen --out-dir /tmp/w target/.../vivus_consent.wasm`.
With BROTLI_BYTES (the optimized file's brotli size) each crate's share of it is printed
too: an estimate, since brotli does not compress every crate equally well.
"""
import collections
import csv
import io
import re
import subprocess
import sys


def crate_of(name: str) -> str | None:
    if "function names" in name or name.startswith('"'):
        return None  # the name section itself, which wasm-opt drops
    bare = re.sub(r"\[[0-9a-f]+\]", "", name.lstrip("<&").replace("dyn ", ""))
    if m := re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", bare):
        return m.group(1)
    if bare.startswith("data segment"):
        return "(data)"
    if bare.startswith(("__wbg", "__wbindgen")):
        return "wasm_bindgen"
    return "(tables, imports, exports, glue)"


def main() -> None:
    wasm = sys.argv[1]
    brotli = int(sys.argv[2]) if len(sys.argv) > 2 else None
    table = subprocess.run(
        ["twiggy", "top", "-n", "1000000", "--format", "csv", wasm],
        check=True, capture_output=True, text=True,
    ).stdout
    sizes: collections.Counter[str] = collections.Counter()
    for row in csv.DictReader(io.StringIO(table)):
        if (crate := crate_of(row["Name"])) is not None:
            sizes[crate] += int(row["ShallowSize"])
    total = sum(sizes.values())
    for crate, size in sizes.most_common(14):
        share = f"  ~{size / total * brotli / 1000:5.1f} kB brotli" if brotli else ""
        print(f"{crate:34} {size / 1000:6.1f} kB {100 * size / total:5.1f}%{share}")
    print(f"{'total':34} {total / 1000:6.1f} kB")


if __name__ == "__main__":
    main()
