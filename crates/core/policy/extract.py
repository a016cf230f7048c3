#!/usr/bin/env python3
"""Turn the exported two-column policy into clean Markdown, one file per language.

Provenance: the personal-data processing policy of TOO "MFO Vivus" reached us as
`source-v1-ru-kk.txt` (a verbatim copy of `shared/policy/source-ru-kk.txt`), an export
of a two-column document (Russian left, Kazakh right) that mixes Markdown and HTML:

* single-language runs of Markdown lines (`**bold**` headings, `## **7. ...**`,
  `- ` list items, plain paragraphs), Russian run first, then the Kazakh run;
* table rows `ru-html<TAB>kk-html`, each followed by a `---<TAB>--` separator row,
  whose cells hold `<p>`, `<p><b>heading</b></p>`, `<ul><li>• item</li></ul>`;
* paragraphs split across blocks: a sentence ends one cell/run without final
  punctuation and continues, lowercase, at the start of the same language's next one.

This script produces `v1/ru.md` and `v1/kk.md` next to it, deterministically, and
checks its own work. It keeps the wording and fixes only the markup: headings become
`# title` / `## N. title`, `•` bullets become `- ` items, split sentences are joined
with one space, HTML is gone. Nothing is reworded, reordered or added.

Checks (the script fails loudly if one does not hold):

* the sequence of words, and the sequence of all non-space characters outside the
  markup, of each language in the source equals that of the output (nothing lost,
  nothing invented, order kept);
* both languages have sections 1..9 and the clauses 1.1, 2.1-2.3, 3.1-3.4, 4.1-4.3,
  5.1-5.6, 6.1-6.2, 7.1, 8.1, 9.1-9.2, in that order;
* no HTML tag, entity or bullet is left (the `<http://...>` autolinks are Markdown);
* every split is a clean one: the earlier part lacks final punctuation exactly when
  the next part starts with a lowercase letter.

Usage:
    python3 crates/core/policy/extract.py            # write v1/{ru,kk}.md, print a report
    python3 crates/core/policy/extract.py --check    # fail if v1/{ru,kk}.md are stale
    python3 crates/core/policy/extract.py --source PATH --out DIR

Only the standard library is used, so the output does not depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# shared/ sits beside the repository: /work/shared next to /work/main.
DEFAULT_SOURCE = HERE / "source-v1-ru-kk.txt"
DEFAULT_OUT = HERE / "v1"

LANGS = ("ru", "kk")
# Letters of the Kazakh Cyrillic alphabet that Russian does not use. A line with none
# of them ("**Саясат:**") is ambiguous and takes the language of the line before it.
KK_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

EXPECTED_CLAUSES = [
    "1.1",
    "2.1", "2.2", "2.3",
    "3.1", "3.2", "3.3", "3.4",
    "4.1", "4.2", "4.3",
    "5.1", "5.2", "5.3", "5.4", "5.5", "5.6",
    "6.1", "6.2",
    "7.1",
    "8.1",
    "9.1", "9.2",
]

SEPARATOR_ROW = re.compile(r"^-{2,}\t-{2,}$")
SECTION = re.compile(r"^(\d+)\. (.+)$")
CLAUSE = re.compile(r"^(\d+)\.(\d+)\.? ")
TAG = re.compile(r"<(/?)([a-z]+)(?:\s[^>]*)?>")
AUTOLINK = re.compile(r"<https?://[^\s<>]+>")
TERMINAL = tuple(".;:!?")


class ExtractError(Exception):
    """The source does not have the shape this script knows; fix the script, not the output."""


@dataclass
class Block:
    """One paragraph, list item or bold line of one language."""

    kind: str  # "para" | "item" | "bold" | "heading"
    text: str
    origin: str  # where it came from, for the report: "line 47 (kk cell)"


@dataclass
class Segment:
    """A contiguous piece of one language: a run of Markdown lines or one table cell."""

    lang: str
    origin: str
    raw: str  # the source text, for the word check
    blocks: list[Block] = field(default_factory=list)


def norm_space(text: str) -> str:
    return " ".join(text.split())


def starts_lowercase(text: str) -> bool:
    first = text.lstrip()[:1]
    return first.isalpha() and first.islower()


# ---------------------------------------------------------------------------
# Reading the source


def markdown_block(line: str, origin: str) -> Block:
    if "<" in AUTOLINK.sub("", line) or ">" in AUTOLINK.sub("", line):
        raise ExtractError(f"{origin}: html in a markdown line: {line[:80]!r}")
    m = re.fullmatch(r"## \*\*(.+)\*\*", line)
    if m:
        return Block("heading", norm_space(m.group(1)), origin)
    m = re.fullmatch(r"\*\*(.+)\*\*", line)
    if m:
        return Block("bold", norm_space(m.group(1)), origin)
    if line.startswith("- "):
        return Block("item", norm_space(line[2:]), origin)
    if line.startswith(("#", "*", "-", "•")):
        raise ExtractError(f"{origin}: unknown markdown construct: {line[:80]!r}")
    return Block("para", norm_space(line), origin)


def html_blocks(cell: str, origin: str) -> list[Block]:
    """Parse one table cell: only <p>, <b>, <ul>, <li> occur in the export."""
    blocks: list[Block] = []
    pos = 0
    open_tags: list[str] = []
    buf: list[str] = []
    bold_parts: list[bool] = []  # per text chunk inside a <p>: was it inside <b>?

    for m in TAG.finditer(cell):
        text = cell[pos:m.start()]
        pos = m.end()
        closing, name = m.group(1) == "/", m.group(2)
        if name not in ("p", "b", "ul", "li"):
            raise ExtractError(f"{origin}: unexpected tag <{name}>")
        if open_tags and open_tags[-1] in ("p", "li", "b"):
            buf.append(text)
            bold_parts.append(open_tags[-1] == "b")
        elif text.strip():
            raise ExtractError(f"{origin}: text outside <p>/<li>: {text.strip()[:60]!r}")
        if not closing:
            if name == "b" and (not open_tags or open_tags[-1] != "p"):
                raise ExtractError(f"{origin}: <b> outside <p> would lose its meaning")
            open_tags.append(name)
            continue
        if not open_tags or open_tags[-1] != name:
            raise ExtractError(f"{origin}: </{name}> does not close {open_tags[-1:]}")
        open_tags.pop()
        if name in ("p", "li"):
            content = norm_space("".join(buf))
            visible = [(t, b) for t, b in zip(buf, bold_parts) if t.strip()]
            buf, bold_parts = [], []
            if name == "li":
                if not content.startswith("•"):
                    raise ExtractError(f"{origin}: list item without a bullet: {content[:60]!r}")
                blocks.append(Block("item", norm_space(content[1:]), origin))
            elif visible and all(b for _, b in visible):
                blocks.append(Block("bold", content, origin))
            elif any(b for _, b in visible):
                raise ExtractError(f"{origin}: bold inside a paragraph is not supported")
            else:
                blocks.append(Block("para", content, origin))
    if open_tags or cell[pos:].strip():
        raise ExtractError(f"{origin}: unclosed {open_tags} or trailing text")
    return blocks


def read_segments(source: str) -> tuple[dict[str, list[Segment]], list[str]]:
    """Split the source into per-language segments, in source order."""
    streams: dict[str, list[Segment]] = {lang: [] for lang in LANGS}
    notes: list[str] = []
    lang = "ru"  # the left column comes first after a table row and at the start
    run: Segment | None = None
    after_row = False

    def flush() -> None:
        nonlocal run
        if run is not None:
            streams[run.lang].append(run)
            run = None

    for number, line in enumerate(source.split("\n"), start=1):
        line = line.rstrip()
        if not line:
            continue
        if SEPARATOR_ROW.match(line):
            if not after_row:
                raise ExtractError(f"line {number}: separator row without a table row before it")
            continue
        if "\t" in line:
            flush()
            cells = line.split("\t")
            if len(cells) != 2:
                raise ExtractError(f"line {number}: a table row must have two cells")
            for cell_lang, cell in zip(LANGS, cells):
                origin = f"line {number} ({cell_lang} cell)"
                seg = Segment(cell_lang, origin, cell, html_blocks(cell, origin))
                streams[cell_lang].append(seg)
            after_row = True
            lang = "ru"
            continue
        if any(ch in KK_LETTERS for ch in line):
            line_lang = "kk"
        else:
            line_lang = lang  # ambiguous: same language as the line before
        if after_row and line_lang != "ru":
            notes.append(f"line {number}: a Kazakh run directly after a table row")
        after_row = False
        lang = line_lang
        if run is None or run.lang != line_lang:
            flush()
            run = Segment(line_lang, f"lines {number}-", "")
        run.origin = re.sub(r"-\d*$", f"-{number}", run.origin)
        run.raw += line + "\n"
        run.blocks.append(markdown_block(line, f"line {number}"))
    flush()
    return streams, notes


# ---------------------------------------------------------------------------
# Repairing the markup


def repair(segments: list[Segment], lang: str, report: list[str]) -> list[Block]:
    """Join split sentences across segments and restore bullets lost inside a list."""
    out: list[Block] = []
    for seg in segments:
        blocks = list(seg.blocks)
        # A bare paragraph between two items of the same cell is an item whose <li>
        # and bullet were lost in the export (it is lowercase and reads as one).
        for i in range(1, len(blocks) - 1):
            b = blocks[i]
            if (
                b.kind == "para"
                and blocks[i - 1].kind == "item"
                and blocks[i + 1].kind == "item"
                and starts_lowercase(b.text)
                and not CLAUSE.match(b.text)
            ):
                blocks[i] = Block("item", b.text, b.origin)
                report.append(f"{lang}: {b.origin}: paragraph between list items made an item: {b.text!r}")
        if out and blocks:
            prev, first = out[-1], blocks[0]
            unfinished = prev.kind in ("para", "item") and not prev.text.endswith(TERMINAL)
            continues = first.kind == "para" and starts_lowercase(first.text)
            if unfinished != continues:
                raise ExtractError(
                    f"{lang}: unclear split between {prev.origin} ({prev.text[-40:]!r}) "
                    f"and {first.origin} ({first.text[:40]!r})"
                )
            if continues:
                out[-1] = Block(prev.kind, prev.text + " " + first.text, prev.origin)
                report.append(
                    f"{lang}: joined {prev.origin} ...{prev.text[-30:]!r} + {first.origin} {first.text[:30]!r}..."
                )
                blocks = blocks[1:]
        out.extend(blocks)
    return out


def render(blocks: list[Block], lang: str) -> str:
    if not blocks or blocks[0].kind != "bold":
        raise ExtractError(f"{lang}: the document must open with its bold title")
    lines: list[str] = ["# " + blocks[0].text]
    prev_kind = "title"
    for b in blocks[1:]:
        if b.kind in ("bold", "heading"):
            m = SECTION.match(b.text)
            if m:
                text = f"## {m.group(1)}. {m.group(2)}"
            elif b.kind == "heading":
                raise ExtractError(f"{b.origin}: a ## heading without a section number")
            else:
                text = f"**{b.text}**"
        elif b.kind == "item":
            text = "- " + b.text
        else:
            text = b.text
        # Items of one list sit on consecutive lines; everything else is a block.
        if not (b.kind == "item" and prev_kind == "item"):
            lines.append("")
        lines.append(text)
        prev_kind = b.kind
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Checking


def strip_source_markup(raw: str) -> str:
    text = AUTOLINK.sub(lambda m: " " + m.group(0) + " ", raw)
    text = TAG.sub(" ", text)
    text = re.sub(r"(?m)^## ", " ", text)
    text = re.sub(r"(?m)^- ", " ", text)
    return text.replace("**", " ").replace("•", " ")


def strip_output_markup(md: str) -> str:
    text = re.sub(r"(?m)^#{1,2} ", " ", md)
    text = re.sub(r"(?m)^- ", " ", text)
    return text.replace("**", " ")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def check_same_text(source_raw: str, md: str, lang: str) -> None:
    src, out = strip_source_markup(source_raw), strip_output_markup(md)
    sw, ow = words(src), words(out)
    if sw != ow:
        i = next((k for k, (a, b) in enumerate(zip(sw, ow)) if a != b), min(len(sw), len(ow)))
        raise ExtractError(
            f"{lang}: word sequences differ at word {i}: source {sw[i:i + 8]} output {ow[i:i + 8]}"
        )
    sc, oc = "".join(src.split()), "".join(out.split())
    if sc != oc:
        i = next((k for k, (a, b) in enumerate(zip(sc, oc)) if a != b), min(len(sc), len(oc)))
        raise ExtractError(f"{lang}: characters differ at {i}: {sc[i - 20:i + 20]!r} vs {oc[i - 20:i + 20]!r}")


def structure(md: str) -> tuple[list[str], list[str], dict[str, int]]:
    sections, clauses, items = [], [], {}
    current = "preamble"
    for line in md.split("\n"):
        m = re.match(r"## (\d+)\. ", line)
        if m:
            current = m.group(1)
            sections.append(current)
        m = CLAUSE.match(line)
        if m:
            clauses.append(f"{m.group(1)}.{m.group(2)}")
        if line.startswith("- "):
            items[current] = items.get(current, 0) + 1
    return sections, clauses, items


def check_clean(md: str, lang: str) -> None:
    leftover = AUTOLINK.sub("", md)
    for bad in ("<", ">", "&", "•", "\t", "\r"):
        if bad in leftover:
            raise ExtractError(f"{lang}: {bad!r} left in the output")
    for line in md.split("\n"):
        if line != line.rstrip() or "  " in line:
            raise ExtractError(f"{lang}: stray whitespace in {line[:60]!r}")


# ---------------------------------------------------------------------------


def extract(source: str) -> tuple[dict[str, str], list[str]]:
    streams, report = read_segments(source)
    outputs: dict[str, str] = {}
    for lang in LANGS:
        blocks = repair(streams[lang], lang, report)
        md = render(blocks, lang)
        check_same_text("".join(s.raw + "\n" for s in streams[lang]), md, lang)
        check_clean(md, lang)
        sections, clauses, _ = structure(md)
        if sections != [str(n) for n in range(1, 10)]:
            raise ExtractError(f"{lang}: sections are {sections}, expected 1..9")
        if clauses != EXPECTED_CLAUSES:
            raise ExtractError(f"{lang}: clauses are {clauses}, expected {EXPECTED_CLAUSES}")
        outputs[lang] = md
    ru_items, kk_items = structure(outputs["ru"])[2], structure(outputs["kk"])[2]
    for section in sorted(set(ru_items) | set(kk_items), key=lambda s: (s != "preamble", s)):
        ru_n, kk_n = ru_items.get(section, 0), kk_items.get(section, 0)
        note = "" if ru_n == kk_n else "  <- differs"
        report.append(f"list items in {section}: ru {ru_n}, kk {kk_n}{note}")
    return outputs, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args()

    try:
        outputs, report = extract(args.source.read_text(encoding="utf-8"))
    except ExtractError as err:
        print(f"extract.py: {err}", file=sys.stderr)
        return 1
    for line in report:
        print(line)
    stale = []
    for lang, md in outputs.items():
        path = args.out / f"{lang}.md"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != md:
                stale.append(str(path))
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(md, encoding="utf-8")
            print(f"wrote {path} ({len(md.encode())} bytes)")
    if stale:
        print("stale, rerun extract.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    print("checks passed: same words and characters per language, sections 1-9, clauses as expected, no html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
