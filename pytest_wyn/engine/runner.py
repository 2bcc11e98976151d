"""Running one file: build it, run its binary once, judge every test, and (--wyn-update) update.

No pytest here: the same ``FileRun.execute`` serves a file in its first test's
turn and ahead of it (runahead.py), so both give the same outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import judge, update
from .build import Builder
from .inflight import InFlight
from .process import MEMORY_LIMIT_WORKS, Cancelled, Completed, Limits, child_env, run_bounded
from .record import FileCosts, Record
from .results import FileOutcome, Verdict
from .settings import Settings, UpdateMode
from .spec import Spec
from .toolchain import NoCompilerFound

Gate = contextlib.AbstractContextManager[Any]


@dataclass(frozen=True)
class FileTools:
    """What a file's run takes from its session, handed in at collection (``session.Engine.file_tools``)."""

    settings: Settings
    rootdir: Path
    record: Record  # where each file notes what it cost
    in_flight: InFlight | None  # without xdist: the log of the files being built or run
    builder: Builder | None  # None: no compiler (``missing_compiler`` says why, to every test that runs)
    missing_compiler: str = ""

    def require_builder(self) -> Builder:
        if self.builder is None:
            raise NoCompilerFound(self.missing_compiler or "no Wyn toolchain was loaded for this session")
        return self.builder


class FileRun:
    """One file's build, run and verdicts, with the session's builder, settings and record."""

    def __init__(
        self, spec: Spec, path: Path, nodeid: str, source: str, source_digest: str, state: FileTools
    ) -> None:
        self.spec = spec
        self.path = path
        self.nodeid = nodeid
        self.source = source
        self.source_digest = source_digest
        self.state = state

    def execute(self, cancel: threading.Event | None = None, run_gate: Gate | None = None) -> FileOutcome:
        """Build and run the file, and judge it: in the item's turn, or ahead of it in a thread.

        ``cancel`` stops it (killing what it started) from another thread;
        ``run_gate`` is held around the binary's run (a CPU slot of run-ahead).
        """
        started = time.monotonic()
        in_flight = self.state.in_flight
        if in_flight is not None:
            in_flight.started(self.nodeid)
        try:
            outcome = self._execute(cancel, run_gate)
        except Cancelled:
            raise
        except NoCompilerFound as exc:
            outcome = FileOutcome(None, None, (judge.no_compiler(str(exc)),) * self.spec.item_count, 0.0)
        except Exception as exc:  # a bug of ours: each item fails with it, and the session goes on
            outcome = FileOutcome(None, None, (judge.internal_error(exc),) * self.spec.item_count, 0.0)
        finally:
            if in_flight is not None:
                in_flight.finished(self.nodeid)
        outcome = dataclasses.replace(outcome, seconds=time.monotonic() - started)
        self._note_costs(outcome)
        return outcome

    def _note_costs(self, outcome: FileOutcome) -> None:
        """What this file cost, for the next session's scheduling (record.py)."""
        if outcome.build is None:
            return
        try:
            st = self.path.stat()
        except OSError:
            return
        run = outcome.run
        self.state.record.note(
            self.nodeid,
            FileCosts(
                round(outcome.build.compile_seconds, 3),
                st.st_mtime_ns,
                st.st_size,
                round(run.seconds, 3) if run is not None else 0.0,
                round(run.cpu_seconds, 3) if run is not None else 0.0,
            ),
        )

    def _execute(self, cancel: threading.Event | None, run_gate: Gate | None) -> FileOutcome:
        session = self.state
        spec = self.spec
        timeout = spec.timeout or session.settings.timeout
        builder = session.require_builder()
        build = builder.build(self.path, cancel)
        count = spec.item_count
        if spec.expect_errors:
            verdict = judge.judge_expect_error(spec, build)
            if session.settings.update is not None and not verdict.passed:
                why = "it never writes EXPECT_ERROR fragments; pick one from the diagnostics"
                verdict = _with_note(verdict, f"not updated by --wyn-update: {why}")
            return FileOutcome(build, None, (verdict,), timeout)
        if not build.ok or build.binary is None:
            return FileOutcome(build, None, (judge.compile_failure(build),) * count, timeout)
        keep = session.settings.keep_binaries
        kept = self._keep(build.binary, keep) if keep is not None else ""
        with run_gate or contextlib.nullcontext():
            run = run_bounded(
                [str(build.binary)],
                cwd=str(self.state.rootdir),
                env=child_env(),
                timeout=timeout,
                limit=session.settings.max_output,
                die_with_parent=True,
                limits=Limits(
                    cpu_seconds=math.ceil(2 * timeout),
                    memory_bytes=session.settings.memory_limit if MEMORY_LIMIT_WORKS else None,
                ),
                cancel=cancel,
            )
        if spec.is_block_file:
            verdicts = judge.judge_blocks(spec, run, timeout, self.source)
            outputs = [v.output for v in verdicts]
            if spec.expects:
                verdicts.append(judge.judge_expect_lines(spec, run, timeout))
                outputs.append(_run_text(run))
        else:
            verdicts = [judge.judge_program(spec, run, timeout)]
            outputs = [_run_text(run)]
        return FileOutcome(build, run, tuple(verdicts), timeout, tuple(outputs), kept_binary=kept)

    def _keep(self, binary: Path, keep: Path) -> str:
        """--wyn-keep-binaries: a copy that outlives the session, and how to run it again by hand."""
        stem = self.nodeid[:-4] if self.nodeid.endswith(".wyn") else self.nodeid
        target = keep / (stem.replace("::", "/") + binary.suffix)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(binary, target)
        except OSError as exc:
            return f"not kept: {exc.strerror or exc}\n"
        shown = os.path.relpath(target, self.state.rootdir)
        return f"kept as {shown}; to run it again, from {self.state.rootdir}:\n    {shown}\n"

    @property
    def update_index(self) -> int | None:
        """Which item's verdict ``--wyn-update`` may change: the one about the file's EXPECT lines."""
        spec = self.spec
        if spec.expect_errors:
            return None
        return len(spec.blocks) if spec.is_block_file else 0

    def update(self, outcome: FileOutcome, mode: UpdateMode) -> tuple[Verdict, str]:
        """``--wyn-update``, in the turn of the item that reports it: rewrite the EXPECT lines from the run.

        Called only by that item, after it ran and was selected, so a
        deselected, skipped or never-reached test never has its file rewritten.
        Returns the item's verdict (a pass when written) and the diff written.
        """
        spec = self.spec
        index = self.update_index
        run, build = outcome.run, outcome.build
        if index is None or index >= len(outcome.verdicts) or run is None or build is None:
            return (outcome.verdicts[index] if index is not None and index < len(outcome.verdicts) else judge.PASS), ""
        verdict = outcome.verdicts[index]
        if spec.expects:
            if verdict.passed:
                return verdict, ""
        elif not (mode == "all" and verdict.passed and not spec.is_block_file):
            return verdict, ""  # a program test becomes an output test only when asked (--wyn-update=all)
        try:
            values = update.blessable_lines(run, spec)
            if spec.is_block_file:
                values = values[: len(spec.expects)]  # the runner's own lines are not pinned: the author's count
            update.check_removals(spec, values, mode)
            exit_status = None if spec.is_block_file else run.returncode
            if build.source_digest != self.source_digest:
                raise update.UpdateRefused("the file changed between collection and compiling; run again")
            target = update.writable_target(self.path)
            old_text = target.read_bytes().decode("utf-8")
            new_text, written = update.rewrite(old_text, spec, values, exit_status)
            change = update.Update(self.path, old_text, new_text, written)
            update.write_in_place(target, new_text, self.source_digest)
        except (update.UpdateRefused, OSError, UnicodeDecodeError) as exc:
            return _with_note(verdict, f"not updated by --wyn-update: {exc}"), ""
        shown = os.path.relpath(self.path, self.state.rootdir)
        return Verdict(True, output=verdict.output), change.diff(shown)


def _with_note(verdict: Verdict, note: str) -> Verdict:
    return dataclasses.replace(verdict, details=[*verdict.details, "", note])


def _run_text(run: Completed) -> str:
    text = run.text
    if run.cut_bytes:
        text += f"\n[pytest-wyn: {run.cut_bytes} bytes of output were cut from the middle]\n"
    return text or "(no output)\n"
