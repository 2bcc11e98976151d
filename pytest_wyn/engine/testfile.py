"""Which files are Wyn tests, and which tests each one becomes: decided here only.

Collection, the forecast before workers start, the hint for a plugin left off
and the scheduler all ask these functions, so they can never count different
files or name the same test differently.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .names import item_names
from .spec import Block, Spec

WYN_SUFFIX = ".wyn"
SNAPSHOT_SUFFIX = ".c.golden"  # Wyn's tests/golden layout: NAME.wyn beside NAME.c.golden


def is_wyn_file(name: str) -> bool:
    """A Wyn source file by its name (a test or a module)."""
    return name.endswith(WYN_SUFFIX)


def snapshot_of(source: Path) -> Path | None:
    """The ``NAME.c.golden`` beside ``NAME.wyn``, if there is one: then the file is a snapshot test."""
    if not is_wyn_file(source.name):
        return None
    golden = source.with_name(source.name[: -len(WYN_SUFFIX)] + SNAPSHOT_SUFFIX)
    return golden if golden.is_file() else None


def is_snapshot_test(path: Path) -> bool:
    """A golden-C snapshot test: ``NAME.wyn`` beside ``NAME.c.golden``, whatever its name (never run)."""
    return is_wyn_file(path.name) and snapshot_of(path) is not None


def is_test_file(path: Path, patterns: Sequence[str], named: bool = False) -> bool:
    """A Wyn program test file: named on the command line, or matching a ``wyn_files`` pattern by name or path
    (not a snapshot test: only its C is generated)."""
    if not is_wyn_file(path.name):
        return False
    matched = named or any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(str(path), p) for p in patterns)
    return matched and not is_snapshot_test(path)


def file_stem(name: str) -> str:
    """The name of a program test: its file's name without ``.wyn``."""
    base = name.rsplit("/", 1)[-1]
    return base[: -len(WYN_SUFFIX)] if is_wyn_file(base) else base


TestKind = Literal["program", "block", "expect"]


@dataclass(frozen=True)
class PlannedTest:
    """One test a file becomes: its node-id name, its kind and its place among the file's verdicts."""

    name: str
    kind: TestKind
    index: int
    block: Block | None = None


def planned_tests(spec: Spec, file_name: str) -> list[PlannedTest]:
    """The tests of a file, in order: a block file's blocks (and its EXPECT lines as one more), else one."""
    if not spec.is_block_file:
        return [PlannedTest(file_stem(file_name), "program", 0)]
    tests = [PlannedTest(name, "block", index, block) for name, block, index in item_names(spec.blocks)]
    if spec.expects:
        # Wyn's own runner checks a block file's EXPECT lines too: one more test.
        name = "EXPECT" if "EXPECT" not in {t.name for t in tests} else "EXPECT (file)"
        tests.append(PlannedTest(name, "expect", len(spec.blocks)))
    return tests


@dataclass(frozen=True)
class Mark:
    """A pytest marker a test gets from its file: ``wyn``, a known-failure list's xfail, a directive's."""

    name: str  # "wyn", "skip", "xfail", or the name a MARK directive gives
    reason: str = ""
    strict: bool = False  # an XFAIL directive is strict; a known-failure list's is not


def marks_of(
    spec: Spec, kind: TestKind, index: int, file_name: str, known_failures: Sequence[tuple[str, str, str]] = ()
) -> list[Mark]:
    """Every marker of one test, in the order they are applied: collection applies them, the forecast
    predicts ``-m`` with their names.

    A program test is the whole file: every directive in it is its own. A
    block gets the file's directives and its own; the EXPECT-lines test the
    file's.
    """
    marks = [Mark("wyn")]  # `-m wyn` / `-m "not wyn"` in mixed suites
    for name, listed_in, failure in known_failures:
        if name == file_name:  # by file name only, as Wyn's stdlib runner matches
            marks.append(Mark("xfail", f"{listed_in}: {failure}"))
    directives = spec.directives if kind == "program" else spec.directives_for(index if kind == "block" else None)
    for d in directives:
        if d.key == "SKIP":
            marks.append(Mark("skip", d.value or "SKIP directive"))
        elif d.key == "XFAIL":
            marks.append(Mark("xfail", d.value or "XFAIL directive", strict=True))
        elif d.key == "MARK":
            marks.append(Mark(d.value.strip()))
    return marks


def skipped_whole(spec: Spec) -> bool:
    """A file-level SKIP: every test of the file is skipped, and nothing is compiled."""
    return any(mark.name == "skip" for mark in marks_of(spec, "expect", 0, ""))
