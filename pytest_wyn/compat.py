"""The private pytest APIs pytest-wyn needs, in one place, each with why.

- ``failure_repr``: a failure built from pytest's own repr classes. xdist
  keeps a failure's structure (and the summary's ``path:line: message`` crash
  line) across processes only for reprs that have ``reprtraceback`` and
  ``reprcrash``; a plain string would lose the location. Reporters read the
  location from the entry's ``reprfileloc``, so the entry is a ``ReprEntry``.
- ``setup_repr_method``: pytest renders an exception raised in *setup* through
  ``Item._repr_failure_py``, not through the public ``repr_failure``; an item
  that errors in setup (an unreadable file) needs it to show a readable text.
- ``pytest_timeout_seconds``: pytest-timeout's limit for an item, through its
  own (private) ``_get_item_settings``: run-ahead must not hide from it the
  time a binary ran before its test's turn. Without the plugin, or if it moves
  the function, None (no limit known: nothing is re-run).
- ``compile_expression``: pytest's own ``-k``/``-m`` grammar, for predicting
  before collection which items a command line selects (the worker forecast).
  If a pytest release moves it, the forecast simply counts every file.
- ``terminal_status``: a status line written while a test waits for its file,
  straight to the terminal: around pytest's output capture (as ``capsys.disabled``
  does) and around the terminal writer's line accounting (``_tw._file``), so the
  status, erased again, leaves pytest's own line and its ``[ 50%]`` as they were.
  Without those attributes, no status line.
- ``EarlyCache``: pytest's cache read before its plugin is configured (the
  worker decision runs in ``pytest_cmdline_main``), from the files its ``Cache``
  writes: ``<cache_dir>/v/<key>``, JSON. If pytest changes that layout, nothing
  is read: the decision uses its defaults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback, TerminalRepr

__all__ = [
    "EarlyCache",
    "TerminalRepr",
    "compile_expression",
    "failure_repr",
    "pytest_timeout_seconds",
    "setup_repr_method",
    "terminal_status",
]

SETUP_REPR_METHOD = "_repr_failure_py"


def failure_repr(lines: list[str], path: str, line: int, message: str) -> TerminalRepr:
    """A repr that survives xdist's serialisation, gives pytest a crash line for summaries, and
    carries the `.wyn` location in a ``ReprEntry``'s ``reprfileloc``: what reporters read
    (pytest-github-actions-annotate-failures, pytest-pretty, pytest-rich). Printed as
    the lines, a blank line, then ``path:line: message``."""
    location = ReprFileLocation(path, line, message)
    entry = ReprEntry(lines, None, None, location, "value")
    return ExceptionChainRepr([(ReprTraceback([entry], None, "value"), ReprFileLocation(path, line, message), None)])


def setup_repr_method(cls: type[Any]) -> Callable[..., Any]:
    """The base class's private setup-phase repr method, for an override to fall back on."""
    method: Callable[..., Any] = getattr(cls, SETUP_REPR_METHOD)
    return method


def pytest_timeout_seconds(item: Any) -> float | None:
    """The pytest-timeout limit that applies to ``item``, if the plugin is active and sets one."""
    plugin = item.config.pluginmanager.get_plugin("timeout")
    settings_of = getattr(plugin, "_get_item_settings", None)
    if settings_of is None:
        return None
    try:
        timeout = settings_of(item).timeout
    except Exception:  # a bad marker is pytest-timeout's to report, in its own hook
        return None
    return float(timeout) if timeout else None


def compile_expression(text: str) -> Callable[[Callable[..., bool]], bool] | None:
    """pytest's -k/-m expression as a function of a matcher, or None if it cannot be had."""
    try:
        from _pytest.mark.expression import Expression

        expression = Expression.compile(text)
    except (ImportError, SyntaxError):
        return None

    def evaluate(matcher: Callable[..., bool]) -> bool:
        return bool(expression.evaluate(matcher))

    return evaluate


def terminal_status(config: Any) -> Callable[[str], int] | None:
    """A function writing text to the terminal as it is (no newline), or None when not on a terminal.

    It writes only what fits on the current line (never wrapping, which could
    not be erased), and returns how many characters it wrote.
    """
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    writer = getattr(reporter, "_tw", None)
    file = getattr(writer, "_file", None)
    if reporter is None or file is None or not getattr(reporter, "isatty", False):
        return None
    disabled = getattr(capture, "global_and_fixture_disabled", None)

    def write(text: str) -> int:
        room = int(getattr(writer, "fullwidth", 80)) - int(getattr(writer, "width_of_current_line", 0)) - 10
        if not text.startswith("\b") and len(text) > room:
            return 0
        if disabled is None:
            file.write(text)
            file.flush()
            return len(text)
        with disabled():
            file.write(text)
            file.flush()
        return len(text)

    return write


class EarlyCache:
    """pytest's cache values, read-only, before ``config.cache`` exists (see the module's docstring)."""

    def __init__(self, config: pytest.Config) -> None:
        self.root: Path | None = None
        try:
            cache_dir = Path(config.getini("cache_dir"))
        except ValueError:
            return  # -p no:cacheprovider: no cache, nothing to read
        self.root = (cache_dir if cache_dir.is_absolute() else config.rootpath / cache_dir) / "v"

    def get(self, key: str, default: Any) -> Any:
        if self.root is None:
            return default
        try:
            return json.loads((self.root / key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        raise NotImplementedError("read-only: the values are written through config.cache")
