"""Failure texts: where in the `.wyn` file a problem is, and what to show.

Plain strings in, plain strings out; the items turn them into pytest reprs.
"""

from __future__ import annotations


def source_excerpt(lines: list[str], first: int, last: int, mark: int | None = None, limit: int = 40) -> list[str]:
    """Numbered source lines first..last (1-based), ``>`` at ``mark``."""
    out = []
    last = min(last, len(lines), first + limit - 1)
    width = len(str(last))
    for n in range(max(first, 1), last + 1):
        pointer = ">" if n == mark else " "
        out.append(f"{pointer} {n:>{width}} | {lines[n - 1]}".replace("\r", "\u240d"))  # a lone CR, shown
    return out


def expect_comparison(expected: list[tuple[int, str]], actual: list[str]) -> tuple[int, list[str]]:
    """Index of the first mismatch (-1 if none) and a line-by-line table."""
    first_bad = -1
    table = []
    for i, (line_no, want) in enumerate(expected):
        got = actual[i] if i < len(actual) else None
        same = got is not None and got.rstrip(" \t") == want.rstrip(" \t")
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
