"""The pytest side of a `.wyn` file: one collector, and its items.

A file is compiled once and its binary run once per session; every item of
the file reads its verdict from that one run (``WynFile.outcome_for``; a
rerun of an item runs the file again).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from . import WynWarning
from .compat import TerminalRepr, failure_repr, pytest_timeout_seconds, setup_repr_method
from .engine import (
    Block,
    BuildResult,
    Engine,
    FileOutcome,
    FileRun,
    FileTools,
    Loop,
    Spec,
    SpecError,
    TestKind,
    Verdict,
    decode,
    file_stem,
    interrupted_verdict,
    item_sections,
    marks_of,
    not_run_verdict,
    parse,
    planned_tests,
    read_source,
    sha256_bytes,
    shows_source,
    source_excerpt,
)

RICH_REPORTER = "rich-terminal-reporter"  # pytest-rich's reporter, registered only when it is on


class WynFailure(AssertionError):
    """A Wyn test did not do what its file asks (an assertion, for IDEs and reporters)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


@dataclass
class Shown:
    """What the reports of a file's current outcome have shown already: once per file, not once per test."""

    warnings: bool = False
    compile_output: bool = False
    compile_failure_in: str | None = None  # the nodeid whose report holds the diagnostics


class WynFile(pytest.File):
    """A `.wyn` test file: read once at collection; its one ``FileRun`` serves all its items."""

    spec: Spec
    lines: list[str]
    file_run: FileRun | None = None  # None: the file could not be read or parsed (one erroring item)

    def __init__(self, *, engine: Engine, tools: FileTools, loop: Loop, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The session's, handed in by the plugin object that collects the file.
        self.engine = engine  # its settings, and whether the cache is on
        self.tools = tools  # what its FileRun takes: the builder, the record, the in-flight log
        self.loop = loop  # whether files run ahead now

    def collect(self) -> Iterable[pytest.Item]:
        self._outcome: FileOutcome | None = None
        self._shown = Shown()
        self._consumed: set[int] = set()
        self._ran_once = False  # run-ahead serves a file's first run only; reruns run in their turn
        self.spec = Spec()
        self.lines = []
        name = file_stem(self.path.name)
        try:
            data = read_source(self.path)
            text = decode(data)
            self.spec = parse(text)
            self.source_digest = sha256_bytes(data)  # what --wyn-update may overwrite, and only that
        except SpecError as exc:
            # One erroring item, not a collection error: pytest would stop the whole session for that.
            yield WynInvalidFile.from_parent(self, name=name, problem=f"cannot collect: {exc.message}", line=exc.line)
            return
        except OSError as exc:
            yield WynInvalidFile.from_parent(self, name=name, problem=f"cannot read: {exc.strerror or exc}", line=1)
            return
        self.lines = text.split("\n")
        spec = self.spec
        self.file_run = FileRun(spec, self.path, self.nodeid, text, self.source_digest, self.tools)
        for unknown in spec.unknown:
            self._warn(unknown.line, f"unknown directive {unknown.key}: (did you mean {unknown.suggestion}:?)")
        for hook in spec.misread_hooks:
            self._warn(
                hook.line,
                f"Wyn takes `test {hook.name}` for the {hook.hook} hook (an unquoted name starting with "
                f"{hook.hook}): it runs around every block and reports no result of its own; "
                f'quote the name (test "{hook.name}") to make it a test',
            )
        if spec.blocks and spec.main_line is not None:
            self._warn(
                spec.main_line,
                f"this file has fn main, so Wyn ignores its {len(spec.blocks)} test block(s); "
                "it runs as one program test",
            )
        for planned in planned_tests(spec, self.path.name):
            if planned.kind == "block" and planned.block is not None:
                yield WynBlockItem.from_parent(self, name=planned.name, block=planned.block, index=planned.index)
            elif planned.kind == "expect":
                yield WynExpectItem.from_parent(self, name=planned.name, index=planned.index)
            else:
                yield WynProgramItem.from_parent(self, name=planned.name)

    def _warn(self, line: int, message: str) -> None:
        """A warning located at ``file.wyn:line``, given once per session (by one xdist worker)."""
        worker = getattr(self.config, "workerinput", None)
        if worker is not None and worker.get("workerid", "gw0") != "gw0":
            return  # every worker collects the same files: the first one speaks for all
        warnings.warn_explicit(WynWarning(message), WynWarning, str(self.path), line)

    # -- running: once per file for all its items, again for an item that runs again
    def outcome_for(self, item: WynItem) -> FileOutcome:
        """The file's run for ``item``: shared by the file's items, repeated for a rerun.

        All items of a file read one run of its binary. An item asking a second
        time (pytest-rerunfailures, pytest-repeat, any plugin that calls
        ``runtestprotocol`` again) gets a fresh run: never a replay.
        """
        item.real_duration = None
        if self._outcome is None or item.index in self._consumed:
            self._outcome = None
            self._consumed = set()
            self._shown = Shown()
            self._outcome = self._compute(item)
            if self._outcome.ahead:
                item.real_duration = self._outcome.seconds  # it ran ahead: report what it took
        self._consumed.add(item.index)
        return self._outcome

    def current_outcome(self) -> FileOutcome | None:
        return self._outcome

    def shown(self) -> Shown:
        return self._shown

    def _compute(self, item: WynItem) -> FileOutcome:
        count = self.spec.item_count
        run = self.file_run
        assert run is not None  # only a file that parsed has items that run
        ahead = self.loop.run_ahead
        try:
            if ahead is not None and not self._ran_once:
                outcome = ahead.take(run)
                limit = pytest_timeout_seconds(item)
                if limit is not None and outcome.run is not None and outcome.run.seconds >= limit:
                    # It ran ahead for longer than pytest-timeout allows this test: run it again in its
                    # turn, alone, so that pytest-timeout judges it as a serial run would.
                    outcome = ahead.run_alone(run)
            else:
                outcome = run.execute()
            self._ran_once = True
            return outcome
        except BaseException as exc:
            if ahead is not None:
                ahead.abandon(run)
            # Interrupted from outside (pytest-timeout, Ctrl-C): the process group is already
            # killed. The interrupted item reports the interruption itself; the file's other
            # items say they did not run, and point at it.
            verdict = not_run_verdict(exc, item.name, item.line)
            self._outcome = FileOutcome(None, None, (verdict,) * count, 0.0)
            self._shown = Shown()
            self._consumed = {item.index}
            raise


def _xunit2(config: pytest.Config) -> bool:
    """JUnit XML is written in the xunit2 family, whose schema has no <properties> in a <testcase>."""
    return bool(getattr(config.option, "xmlpath", None)) and config.getini("junit_family") == "xunit2"


class WynItem(pytest.Item):
    parent: WynFile
    line: int = 1  # 1-based
    index: int = 0  # position among the file's verdicts
    wyn_update: str = ""  # the diff --wyn-update wrote for this item's run, if any
    real_duration: float | None = None  # its file's build and run, when they ran ahead of the item

    kind: TestKind = "program"

    def apply_markers(self) -> None:
        known = self.parent.engine.settings.known_failures
        for mark in marks_of(self.parent.spec, self.kind, self.index, self.path.name, known):
            if mark.name in ("skip", "xfail"):
                kwargs: dict[str, Any] = {"reason": mark.reason}
                if mark.name == "xfail":
                    kwargs["strict"] = mark.strict
                self.add_marker(getattr(pytest.mark, mark.name)(**kwargs))
            else:
                self.add_marker(getattr(pytest.mark, mark.name))

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, self.line - 1, self.name

    def runtest(self) -> None:
        """Compile (or take from the cache) and run, as doctest and pytest-cpp do: in the call phase."""
        outcome = self.parent.outcome_for(self)
        build = outcome.build
        self.user_properties[:] = [p for p in self.user_properties if not str(p[0]).startswith("wyn_")]
        if build is not None and not _xunit2(self.config):
            cache_on = self.parent.engine.cache_on
            self.user_properties.append(("wyn_cache", _cache_use(build, cache_on)))
            self.user_properties.append(("wyn_compile_seconds", f"{build.compile_seconds:.3f}"))
            if build.retries:
                self.user_properties.append(("wyn_compile_retries", str(len(build.retries))))
        shown = self.parent.shown()
        if build is not None and build.warnings and not shown.warnings:
            shown.warnings = True
            for warning in build.warnings:
                self.warn(WynWarning(warning))
        # A rerun reports afresh: drop what the previous attempt attached.
        self._report_sections = [r for r in self._report_sections if r[0] != "call"]
        compile_output = build is not None and not build.ok and not shown.compile_output
        shown.compile_output = shown.compile_output or compile_output  # what a failure leaves out: once per file
        for title, text in item_sections(outcome, self.index, self.config.option.verbose, compile_output):
            self.add_report_section("call", title, text)
        verdict = outcome.verdicts[self.index]
        self.wyn_update = ""  # read by the report hook
        mode = self.parent.engine.settings.update
        if mode is not None and self._may_update():
            # Only now, in the turn of the item that reports it: a deselected, skipped or
            # never-reached test never has its file rewritten.
            assert self.parent.file_run is not None
            verdict, self.wyn_update = self.parent.file_run.update(outcome, mode)
        if not verdict.passed:
            raise WynFailure(verdict)

    def _may_update(self) -> bool:
        """The item whose verdict is about the file's EXPECT lines, and not one pinned as failing or skipped."""
        if self.parent.file_run is None or self.index != self.parent.file_run.update_index:
            return False
        return not may_skip(self) and self.get_closest_marker("xfail") is None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, WynFailure):
            return self._repr(excinfo.value.verdict)
        if isinstance(excinfo.value, pytest.fail.Exception):
            # pytest.fail from outside while the binary ran (pytest-timeout): the Wyn test, not our frames.
            return self._repr(interrupted_verdict(excinfo.value, self.line))
        return super().repr_failure(excinfo, style)

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> TerminalRepr:
        # pytest renders errors raised in setup through this private method (see compat.py).
        if isinstance(excinfo.value, WynFailure):
            return self._structured_repr(excinfo.value.verdict)
        result: TerminalRepr = setup_repr_method(pytest.Item)(self, excinfo, style)
        return result

    def _repr(self, verdict: Verdict) -> str | TerminalRepr:
        if self.config.pluginmanager.hasplugin(RICH_REPORTER):
            # pytest-rich renders every traceback entry's file as Python source (and fails on a .wyn
            # file), but prints a plain-text failure as it is: give it the text.
            return str(self._structured_repr(verdict))
        return self._structured_repr(verdict)

    def _structured_repr(self, verdict: Verdict) -> TerminalRepr:
        outcome = self.parent.current_outcome() or FileOutcome(None, None, (), 0.0)
        shown = self.parent.shown()
        build = outcome.build
        lines: list[str] = []
        compile_failed = build is not None and not build.ok and not self.parent.spec.expect_errors
        if compile_failed and shown.compile_failure_in not in (None, self.nodeid):
            lines.append(f"{verdict.message}")
            lines.append(f"(the file did not compile; the diagnostics are shown under {shown.compile_failure_in})")
        else:
            if compile_failed:
                shown.compile_failure_in = self.nodeid
            lines.append(verdict.message)
            if build is not None and build.retries:
                lines += [f"note: {r}" for r in build.retries]
            if verdict.details:
                lines.append("")
                lines += verdict.details
            quoted = compile_failed and build is not None and shows_source(build.diagnostics, verdict.line)
            excerpt = [] if quoted else self._excerpt(verdict)  # the toolchain's own excerpt is enough
            if excerpt:
                lines.append("")
                lines += excerpt
        path, line = self._location(verdict)
        return failure_repr(lines, path, line, verdict.message)

    def _location(self, verdict: Verdict) -> tuple[str, int]:
        root = self.config.rootpath
        target = self.path if verdict.path is None else (root / verdict.path)
        try:
            shown = os.path.relpath(target, self.config.invocation_params.dir)
        except ValueError:
            shown = str(target)
        return shown, verdict.line or self.line

    def _in_other_file(self, verdict: Verdict) -> bool:
        if verdict.path is None:
            return False
        try:
            return (self.config.rootpath / verdict.path).resolve() != self.path.resolve()
        except OSError:
            return True

    def _excerpt(self, verdict: Verdict) -> list[str]:
        if verdict.path is not None and self._in_other_file(verdict):
            try:
                other = (self.config.rootpath / verdict.path).read_text(encoding="utf-8", errors="replace").split("\n")
            except OSError:
                return []
            if verdict.line:
                return [f"{verdict.path}:"] + source_excerpt(other, verdict.line - 2, verdict.line + 2, verdict.line)
            return []
        return self._own_excerpt(verdict)

    def _own_excerpt(self, verdict: Verdict) -> list[str]:
        if verdict.line is None:
            return []
        return source_excerpt(self.parent.lines, verdict.line - 2, verdict.line + 2, verdict.line)


class WynProgramItem(WynItem):
    """A program or output test: the whole file is one test."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = 1
        self.index = 0
        self.apply_markers()


class WynBlockItem(WynItem):
    """One `test "name" { }` block."""

    def __init__(self, *, block: Block, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block = block
        self.line = block.line
        self.index = index
        self.kind = "block"
        self.apply_markers()

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, self.line - 1, f"test {self.block.name!r}"

    def _own_excerpt(self, verdict: Verdict) -> list[str]:
        mark = verdict.line if verdict.line != self.block.line else None
        return source_excerpt(self.parent.lines, self.block.line, self.block.end_line, mark)


class WynExpectItem(WynItem):
    """The EXPECT lines of a file of test blocks: its first output lines, as Wyn's runner checks them."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.kind = "expect"
        self.line = self.parent.spec.expects[0].line
        self.apply_markers()

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, self.line - 1, "EXPECT lines"


class WynInvalidFile(WynItem):
    """Stands for a file that cannot be read or parsed: it errors, the session goes on."""

    def __init__(self, *, problem: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = line
        self.verdict = Verdict(False, problem, line, error=True)

    def setup(self) -> None:
        raise WynFailure(self.verdict)

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise WynFailure(self.verdict)

    def _repr(self, verdict: Verdict) -> str | TerminalRepr:
        if self.config.pluginmanager.hasplugin(RICH_REPORTER):
            # pytest-rich renders every traceback entry's file as Python source (and fails on a .wyn
            # file), but prints a plain-text failure as it is: give it the text.
            return str(self._structured_repr(verdict))
        return self._structured_repr(verdict)

    def _structured_repr(self, verdict: Verdict) -> TerminalRepr:
        path, line = self._location(verdict)
        return failure_repr([], path, line, verdict.message)


def may_skip(item: pytest.Item) -> bool:
    """A skip or skipif marker (whatever its condition): such a test may not run, so it is never run ahead
    of its turn, and never has its file rewritten by --wyn-update."""
    return item.get_closest_marker("skip") is not None or item.get_closest_marker("skipif") is not None


def _cache_use(build: BuildResult, cache_on: bool) -> str:
    """The ``wyn_cache`` property: remote (fetched this session from the shared cache), hit, miss or off."""
    if build.remote:
        return "remote"
    if build.cached:
        return "hit"
    return "miss" if cache_on else "off"
