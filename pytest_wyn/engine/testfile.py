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


@dataclass(frozen=True)
class PlannedTest:
    """One test a file becomes: its node-id name, its kind and its place among the file's verdicts."""

    name: str
    kind: Literal["program", "block", "expect"]
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
