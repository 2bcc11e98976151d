"""Verdicts: compare what a build and a run did with what the file asked for.

No pytest here: a verdict is a pass/fail, a one-line message, the `.wyn`
line it is about and the lines that explain it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .build import BuildResult
from .process import Completed
from .report import Where, expect_comparison, first_message, indent, locate_diagnostic, locate_panic
from .spec import Block, Spec
from .toolchain import strip_ansi

_RESULT = re.compile(r"^  ([\u2713\u2717]) (.*)$")
_SUMMARY = re.compile(r"^(\d+ tests passed|\d+ passed, \d+ failed)\s*$")


@dataclass
class Verdict:
    passed: bool
    message: str = ""
    line: int | None = None  # 1-based, in the file named by ``path``
    path: str | None = None  # None: the test file itself
    details: list[str] = field(default_factory=list)
    error: bool = False  # reported as a pytest error, not a failure


PASS = Verdict(True)


def run_failure(run: Completed, timeout: float) -> str | None:
    """Why a run did not finish normally, or None."""
    if run.launch_error:
        return f"the test binary could not be started: {run.launch_error}"
    if run.timed_out:
        return f"timed out after {timeout:g} s; the test binary and its children were killed"
    if run.signal is not None:
        return f"the test binary was killed by {run.signal_name}"
    if run.returncode == 139:
        return "the test binary exited 139 (segmentation fault or stack overflow)"
    return None


def output_lines(run: Completed) -> list[str]:
    return strip_ansi(run.text).splitlines()


def cut_note(run: Completed) -> list[str]:
    if run.cut_bytes:
        return [f"(the output was cut: {run.cut_bytes} bytes in the middle were not kept)"]
    return []


def compile_failure(build: BuildResult) -> Verdict:
    if build.problem:
        return Verdict(False, build.problem, details=indent(build.diagnostics) if build.diagnostics.strip() else [])
    where = locate_diagnostic(build.diagnostics)
    message = f"compile error: {where.message}" if where else f"compile error: {first_message(build.diagnostics)}"
    return Verdict(
        False, message, where.line if where else None, where.path if where else None, indent(build.diagnostics)
    )


def judge_expect_error(spec: Spec, build: BuildResult) -> Verdict:
    first = spec.expect_errors[0].line
    if build.ok:
        return Verdict(
            False,
            "expected a compile error, but the file compiled",
            first,
            details=[f"EXPECT_ERROR at line {d.line}: {d.value!r}" for d in spec.expect_errors],
        )
    if build.problem:
        return compile_failure(build)
    missing = [d for d in spec.expect_errors if d.value not in build.diagnostics]
    if not missing:
        return PASS
    details = [f"EXPECT_ERROR at line {d.line}: {d.value!r} is not in the diagnostics" for d in missing]
    details += ["", "diagnostics:"] + indent(build.diagnostics)
    return Verdict(False, f"the compile error does not contain {missing[0].value!r}", missing[0].line, details=details)


def judge_program(spec: Spec, run: Completed, timeout: float) -> Verdict:
    lines = output_lines(run)
    problem = run_failure(run, timeout)
    if problem and (run.launch_error or run.timed_out or run.signal is not None):
        return Verdict(False, problem, details=_output_tail(lines, run))
    expected_exit = spec.expect_exit
    if spec.expects:
        wanted = [(d.line, d.value) for d in spec.expects]
        bad, table = expect_comparison(wanted, lines)
        if bad >= 0:
            return Verdict(
                False,
                f"output line {bad + 1} differs from EXPECT at line {wanted[bad][0]}",
                wanted[bad][0],
                details=table + cut_note(run),
            )
        if expected_exit is not None and run.returncode != expected_exit:
            return _exit_mismatch(spec, run, lines)
        return PASS
    if run.returncode != (expected_exit if expected_exit is not None else 0):
        return _exit_mismatch(spec, run, lines)
    return PASS


def _exit_mismatch(spec: Spec, run: Completed, lines: list[str]) -> Verdict:
    d = spec.first("EXPECT_EXIT")
    want = int(d.value) if d else 0
    panic = locate_panic("\n".join(lines))
    message = f"exited {run.returncode}, expected {want}"
    if run.returncode == 139:
        message += " (segmentation fault or stack overflow)"
    if panic is not None:
        message += f" ({panic.message})"
    line = d.line if d else (panic.line if panic and panic.path else None)
    return Verdict(False, message, line, panic.path if panic and not d else None, details=_output_tail(lines, run))


def _output_tail(lines: list[str], run: Completed, keep: int = 30) -> list[str]:
    if not lines:
        return ["(no output)"]
    shown = lines[-keep:]
    head = [f"last {keep} of {len(lines)} output lines:"] if len(lines) > keep else ["output:"]
    return head + ["    " + ln for ln in shown] + cut_note(run)


def judge_blocks(spec: Spec, run: Completed, timeout: float) -> list[Verdict]:
    lines = output_lines(run)
    results: list[tuple[bool, str, list[str]]] = []
    segment: list[str] = []
    summary = False
    for line in lines:
        m = _RESULT.match(line)
        if m:
            results.append((m.group(1) == "\u2713", m.group(2), segment))
            segment = []
        elif _SUMMARY.match(line.strip()):
            summary = True
        else:
            segment.append(line)
    tail = [ln for ln in segment if ln.strip()]
    by_name: dict[str, list[tuple[bool, list[str]]]] = {}
    for ok, name, seg in results:
        by_name.setdefault(name, []).append((ok, seg))
    seen: dict[str, int] = {}
    verdicts: list[Verdict] = []
    aborted_in: Block | None = None
    problem = run_failure(run, timeout)
    ended_badly = problem is not None or not summary
    for block in spec.blocks:
        k = seen.get(block.name, 0)
        seen[block.name] = k + 1
        found = by_name.get(block.name, [])
        if k < len(found):
            ok, seg = found[k]
            verdicts.append(PASS if ok else _failed_block(block, seg))
            continue
        if aborted_in is None and ended_badly:
            aborted_in = block
            verdicts.append(_aborted_block(block, tail, run, problem))
        elif aborted_in is not None:
            verdicts.append(
                Verdict(False, f"not run: the test binary aborted in block '{aborted_in.name}'", block.line)
            )
        else:
            verdicts.append(
                Verdict(
                    False,
                    "the test binary never reported this block",
                    block.line,
                    error=True,
                    details=["its output had no \u2713/\u2717 line for it; the file may have changed since collection"]
                    + cut_note(run),
                )
            )
    return verdicts


def _failed_block(block: Block, seg: list[str]) -> Verdict:
    own = [ln for ln in seg if ln.strip()]
    message = "block failed"
    for i, ln in enumerate(own):
        s = ln.strip()
        if s.startswith("assert_eq failed"):
            pairs = dict(x.strip().split(":", 1) for x in own[i + 1 : i + 3] if ":" in x)
            if "expected" in pairs and "got" in pairs:
                message = f"assert_eq failed: expected {pairs['expected'].strip()}, got {pairs['got'].strip()}"
            else:
                message = "assert_eq failed"
            break
        if s.startswith("assert failed"):
            message = "assert failed"
            break
    details = ["output of this block:"] + ["    " + ln for ln in own] if own else ["(the block printed nothing)"]
    return Verdict(False, message, block.line, details=details)


def _aborted_block(block: Block, tail: list[str], run: Completed, problem: str | None) -> Verdict:
    panic = locate_panic("\n".join(tail))
    if panic is not None:
        message = panic.message
        where: Where | None = panic if panic.path else None
    else:
        message = problem or f"the test binary stopped (exit {run.returncode}) before reporting this block"
        where = None
    details = ["output of this block:"] + ["    " + ln for ln in tail] if tail else ["(no output from this block)"]
    if problem and panic is not None:
        details.append(problem)
    return Verdict(
        False,
        message,
        where.line if where else block.line,
        where.path if where else None,
        details=details + cut_note(run),
    )
