"""Failure texts: where in the `.wyn` file a problem is, and what to show.

Plain strings in, plain strings out; the items turn them into pytest reprs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ARROW = re.compile(r"-->\s+(.+?):(\d+)(?::(\d+))?\s*$", re.MULTILINE)
_AT_LINE = re.compile(r"^\s*Error at line (\d+):\s*(.*)$", re.MULTILINE)
_ERROR = re.compile(r"^\s*Error:\s*(.*)$", re.MULTILINE)
_CC_ERROR = re.compile(r"^(.+?\.wyn):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)$", re.MULTILINE)
_PANIC_AT = re.compile(r"panic at (.+?):(\d+):\s*(.*)")
_PANIC = re.compile(r"^\s*Panic:\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Where:
    path: str | None  # as printed by the compiler; None: the entry file
    line: int
    message: str


def locate_diagnostic(text: str) -> Where | None:
    """The first error the compiler's output points at, in any of its forms."""
    found: list[tuple[int, Where]] = []
    arrow = _ARROW.search(text)
    if arrow:
        before = text[: arrow.start()]
        errors = list(_ERROR.finditer(before))
        msg = errors[-1].group(1).strip() if errors else "error"
        found.append((arrow.start(), Where(arrow.group(1), int(arrow.group(2)), msg)))
    at = _AT_LINE.search(text)
    if at:
        found.append((at.start(), Where(None, int(at.group(1)), at.group(2).strip())))
    cc = _CC_ERROR.search(text)
    if cc:
        found.append((cc.start(), Where(cc.group(1), int(cc.group(2)), cc.group(3).strip())))
    if not found:
        return None
    return min(found, key=lambda pair: pair[0])[1]


def first_message(text: str) -> str:
    """A one-line summary of compiler output with no location."""
    m = _ERROR.search(text)
    if m:
        return m.group(1).strip()
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith(("Building", "Built")):
            return s[:200]
    return "no output"


def locate_panic(text: str) -> Where | None:
    m = _PANIC_AT.search(text)
    if m:
        return Where(m.group(1), int(m.group(2)), "panic: " + m.group(3).strip())
    p = _PANIC.search(text)
    if p:
        return Where(None, 0, "panic: " + p.group(1).strip())
    return None


def source_excerpt(lines: list[str], first: int, last: int, mark: int | None = None, limit: int = 40) -> list[str]:
    """Numbered source lines first..last (1-based), ``>`` at ``mark``."""
    out = []
    last = min(last, len(lines), first + limit - 1)
    width = len(str(last))
    for n in range(max(first, 1), last + 1):
        pointer = ">" if n == mark else " "
        out.append(f"{pointer} {n:>{width}} | {lines[n - 1]}")
    return out


def expect_comparison(expected: list[tuple[int, str]], actual: list[str]) -> tuple[int, list[str]]:
    """Index of the first mismatch (-1 if none) and a line-by-line table."""
    first_bad = -1
    table = []
    for i, (line_no, want) in enumerate(expected):
        got = actual[i] if i < len(actual) else None
        same = got is not None and got.rstrip() == want.rstrip()
        where = f"output line {i + 1} (EXPECT at line {line_no})"
        if same:
            table.append(f"  {where}: {want!r}")
            continue
        if first_bad < 0:
            first_bad = i
        table.append(f"! {where}:")
        table.append(f"      expected: {want!r}")
        table.append(
            f"      got:      {got!r}"
            if got is not None
            else f"      got:      nothing (the output has {len(actual)} lines)"
        )
    return first_bad, table


def indent(text: str, prefix: str = "    ") -> list[str]:
    return [prefix + line for line in text.rstrip("\n").splitlines()]
