"""Mistakes a new user makes that pytest would otherwise let pass in silence.

- ``--wyn-compiler /opt/wyn/wyn`` (a space, not ``=``): pytest looks for the
  rootdir and the config file before it knows our options, takes the value for
  a test path, and so moves the rootdir and drops the config file.
- Wyn test files present, but the plugin not switched on: "no tests ran".
"""

from __future__ import annotations

import fnmatch
import itertools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from .engine import DEFAULT_FILES
from .settings_table import SETTINGS

# Our options that take a value (a `store` action), as settings_table.add_to declares them.
# The options that take a value (--wyn-update is a switch: it never takes the next argument).
VALUE_OPTIONS = tuple(s.option for s in SETTINGS if s.option and "metavar" in s.option_args)
SCAN_LIMIT = 2000  # directory entries looked at, at most, to find one Wyn file for the hint


def spaced_value_option(args: Sequence[str], cwd: Path) -> tuple[str, str] | None:
    """The first ``--wyn-x VALUE`` (spaced) whose value pytest will have taken for a path."""
    for option, value in itertools.pairwise(args):
        if option == "--":
            return None
        if option in VALUE_OPTIONS and not value.startswith("-") and (cwd / value).exists():
            return option, value
    return None


def wyn_file_hint(args: Iterable[str], cwd: Path, patterns: Sequence[str], skip_dirs: Sequence[str]) -> str | None:
    """A Wyn test file this (plugin-less) session could have run: named, or found in a short scan."""
    from .engine import is_test_file, is_wyn_file  # only when a session found nothing to run

    roots: list[Path] = []
    for arg in args:
        path = arg.split("::", 1)[0]
        if is_wyn_file(path):
            return path
        roots.append(cwd / path)
    seen = 0
    for root in roots or [cwd]:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and not _matches(d, skip_dirs)]
            seen += len(filenames) + len(dirnames)
            for name in filenames:
                if is_test_file(Path(dirpath, name), patterns):
                    return os.path.relpath(Path(dirpath, name), cwd)
            if seen > SCAN_LIMIT:
                return None
    return None


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


class OffHint:
    """With the plugin off: one line when a session found nothing but Wyn files were there."""

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if exitstatus not in (pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR):
            return
        found = wyn_file_hint(config.args, config.invocation_params.dir, DEFAULT_FILES, config.getini("norecursedirs"))
        if found is not None:
            terminalreporter.write_line(
                f"pytest-wyn: {found} is a Wyn test file, but pytest-wyn is off: "
                "run `pytest --wyn`, or add `wyn = true` to your pytest configuration",
                yellow=True,
            )
