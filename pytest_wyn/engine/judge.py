"""Verdicts: compare what a build and a run did with what the file asked for.

No pytest here: a verdict is a pass/fail, a one-line message, the `.wyn`
line it is about and the lines that explain it.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import traceback

from . import formats
from .formats import Where, first_message, locate_diagnostic, locate_panic, strip_ansi
from .process import Completed
from .report import expect_comparison, indent
from .results import BuildResult, Verdict
from .spec import Block, Spec

PASS = Verdict(True)  # the verdict of a test that did what its file asks
_SIGXCPU: int | None = getattr(signal, "SIGXCPU", None)
_SIGKILL: int | None = getattr(signal, "SIGKILL", None)


def exit_matches(returncode: int | None, expected: int) -> bool:
    """EXPECT_EXIT as the platform reports it: Windows gives exit codes unsigned (-1 is 4294967295)."""
    return returncode is not None and (returncode == expected or returncode == expected & 0xFFFFFFFF)


def run_failure(run: Completed, timeout: float) -> str | None:
    """Why a run did not finish normally, or None."""
    if run.launch_error:
        return f"the test binary could not be started: {run.launch_error}"
    if run.timed_out:
        return (
            f"timed out after {timeout:g} s; the test binary and its children were killed "
            "(raise the limit with // TIMEOUT: N in the file, or --wyn-timeout=S)"
        )
    crash = formats.windows_crash(run.returncode, strip_ansi(run.text))
    if crash is not None:  # before the CPU limit: a crash status is never the job's kill (and Wine's CPU times lie)
        return f"the test binary crashed ({crash}){_memory_hint(run)}"
    limits = run.limits
    if limits is not None and limits.memory_bytes and run.peak_bytes > limits.memory_bytes:
        # Set only when the limit came a moment after the start (process/posix.py) and it was over it by then.
        return (
            f"took {run.peak_bytes / (1 << 20):.0f} MiB of memory as it started, over the limit of "
            f"{limits.memory_bytes / (1 << 20):g} MiB (wyn_memory_limit), and was killed"
        )
    over_cpu = bool(limits is not None and limits.cpu_seconds and run.cpu_seconds >= limits.cpu_seconds)
    # POSIX: SIGXCPU, then SIGKILL a second later; Windows: the job ends the process (no signal).
    by_limit = run.signal in (_SIGXCPU, _SIGKILL) or (run.signal is None and run.returncode != 0)
    if limits is not None and (run.signal == _SIGXCPU or (by_limit and over_cpu)):
        return (
            f"exceeded the CPU limit of {limits.cpu_seconds} s (twice the timeout) and was killed; "
            "raise the timeout with // TIMEOUT: N or --wyn-timeout=S"
        )
    if run.signal is not None:
        return f"the test binary was killed by {run.signal_name}{_memory_hint(run)}"
    if run.returncode == 139:
        return f"the test binary exited 139 (segmentation fault or stack overflow){_memory_hint(run)}"
    return None


def _memory_hint(run: Completed) -> str:
    """A crash under a memory limit may be the limit: say so, with the setting's name."""
    if run.limits is None or not run.limits.memory_bytes:
        return ""
    mib = run.limits.memory_bytes / (1 << 20)
    return f"; it may have exceeded the memory limit of {mib:g} MiB (wyn_memory_limit)"


def output_lines(run: Completed) -> list[str]:
    return formats.lines_of(strip_ansi(run.text))


def cut_note(run: Completed) -> list[str]:
    if run.cut_bytes:
        return [f"(the output was cut: {run.cut_bytes} bytes in the middle were not kept)"]
    return []


def compile_failure(build: BuildResult) -> Verdict:
    if build.problem:
        return Verdict(False, build.problem, details=indent(build.diagnostics) if build.diagnostics.strip() else [])
    where = locate_diagnostic(build.diagnostics)
    c_stage = formats.compiler_output(build.diagnostics)
    if where is not None:
        message = f"compile error: {where.message}"
    elif c_stage:
        first = next((ln for ln in c_stage.splitlines() if "error" in ln), c_stage.splitlines()[0])
        message = f"compile error in the C that Wyn generated: {first.strip()}"
    else:
        message = f"compile error: {first_message(build.diagnostics)}"
    shown = formats.arrange_diagnostics(build.diagnostics) or build.diagnostics
    return Verdict(False, message, where.line if where else None, where.path if where else None, indent(shown))


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


def ended_abnormally(run: Completed) -> bool:
    """It never finished as a program does: not started, timed out, killed, or crashed (Windows has no signal)."""
    return bool(
        run.launch_error
        or run.timed_out
        or run.signal is not None
        or formats.windows_crash(run.returncode, strip_ansi(run.text))
    )


def judge_program(spec: Spec, run: Completed, timeout: float) -> Verdict:
    lines = output_lines(run)
    problem = run_failure(run, timeout)
    if problem and ended_abnormally(run):
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
        if expected_exit is not None and not exit_matches(run.returncode, expected_exit):
            return _exit_mismatch(spec, run, lines)
        return PASS
    if not exit_matches(run.returncode, expected_exit if expected_exit is not None else 0):
        return _exit_mismatch(spec, run, lines)
    return PASS


def judge_expect_lines(spec: Spec, run: Completed, timeout: float) -> Verdict:
    """A block file's EXPECT lines, as Wyn's own runner reads them: the first output lines, blocks or not."""
    lines = output_lines(run)
    problem = run_failure(run, timeout)
    if problem and ended_abnormally(run):
        return Verdict(False, problem, spec.expects[0].line, details=_output_tail(lines, run))
    wanted = [(d.line, d.value) for d in spec.expects]
    bad, table = expect_comparison(wanted, lines)
    if bad < 0:
        return Verdict(True)
    return Verdict(
        False,
        f"output line {bad + 1} differs from EXPECT at line {wanted[bad][0]}",
        wanted[bad][0],
        details=table + cut_note(run),
    )


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


def _output_tail(lines: list[str], run: Completed) -> list[str]:
    """The program's output is its captured stdout (shown once, under the failure): only say so here."""
    if not lines:
        return ["(the program printed nothing)"]
    return [f"(its {len(lines)} output line(s) are under 'Captured stdout call')", *cut_note(run)]


def judge_blocks(spec: Spec, run: Completed, timeout: float, source: str = "") -> list[Verdict]:
    """One verdict per block, read from the runner's coloured result lines.

    Only the runner's own lines count (coloured as the toolchain prints them,
    wherever on a line they start), and only in source order: a result line
    naming a later block while an earlier one has no result yet is the earlier
    block's output, so a block cannot forge another's result. A block named by
    more than one result line fails, saying so: its own output may have
    imitated the runner. The runner's summary is the last line of a finished
    run, and nothing else. Whatever the binary reports that the collected
    blocks do not explain (a block we did not collect, a summary or exit status
    that disagrees) fails visibly instead of being dropped.
    """
    blocks = spec.blocks
    lines = formats.lines_of(run.text)
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
    summary = formats.runner_summary(lines[last]) if last is not None else None
    reported: list[tuple[bool, list[str], str]] = []  # per block, in order: passed, its output, the name printed
    segment: list[str] = []
    strays: dict[str, int] = {}  # result lines naming a collected block out of its turn
    unknown: list[tuple[str, int, bool]] = []  # what the runner reported that no item covers
    known = {b.name for b in blocks if b.printable}
    for raw in lines[:last] if summary is not None else lines:
        results = formats.runner_results(raw)
        if not results:
            segment.append(strip_ansi(raw))
            continue
        for result in results:
            if result.before:
                segment.append(strip_ansi(result.before))
            due = blocks[len(reported)] if len(reported) < len(blocks) else None
            if due is not None and (result.name == due.name if due.printable else result.name not in known):
                reported.append((result.passed, segment, result.name))
                segment = []
            elif result.name in known:
                strays[result.name] = strays.get(result.name, 0) + 1
                segment.append(("\u2713 " if result.passed else "\u2717 ") + result.name)
            else:
                unknown.append((result.name, len(reported), result.passed))
                segment = []
    tail = [ln for ln in segment if ln.strip()]
    verdicts: list[Verdict] = []
    problem = run_failure(run, timeout)
    ended_badly = problem is not None or summary is None
    for index, block in enumerate(blocks):
        if index < len(reported):
            ok, seg, printed = reported[index]
            if not block.printable:
                verdict = _unprintable_block(block, ok, printed, seg)
            else:
                verdict = Verdict(True) if ok else _failed_block(block, seg)
            verdicts.append(dataclasses.replace(verdict, output="".join(ln + "\n" for ln in seg)))
        elif index == len(reported) and ended_badly:
            aborted = _aborted_block(block, tail, run, problem)
            verdicts.append(dataclasses.replace(aborted, output="".join(ln + "\n" for ln in segment)))
        elif ended_badly:
            verdicts.append(
                Verdict(False, f"not run: the test binary aborted in block '{blocks[len(reported)].name}'", block.line)
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
    for index, block in enumerate(blocks):
        count = strays.get(block.name, 0)
        if count and block.printable:
            _add_problem(
                verdicts,
                index,
                f"the output has {count} more result line(s) for block '{block.name}' than the runner prints",
                block.line,
                [
                    "only the runner's last line for a block decides, and a block has exactly one;",
                    "a block's own output may imitate the runner's lines, so this verdict cannot be trusted",
                ],
            )
    unprintable = any(not b.printable for b in blocks)
    for name, at, _ in unknown:
        line = _line_of_block(source, name)
        _add_problem(
            verdicts,
            min(at, len(verdicts) - 1),
            f"the test binary ran a block named {name!r} that pytest-wyn did not collect",
            line,
            [
                f"its result line came after {at} collected block(s); its verdict is not shown anywhere else",
                "a block name with '%' is printed garbled by Wyn (see that block's failure)"
                if unprintable
                else "please report this with the file: pytest-wyn's parser missed a block form Wyn accepts",
            ],
        )
    if summary is not None and not problem and verdicts:
        passed = sum(1 for ok, *_ in reported if ok)
        failed = len(reported) - passed
        seen = (passed + sum(1 for *_, ok in unknown if ok), failed + sum(1 for *_, ok in unknown if not ok))
        if summary != seen:
            _add_problem(
                verdicts,
                len(verdicts) - 1,
                f"the runner's summary ({summary[0]} passed, {summary[1]} failed) does not match its result lines "
                f"({passed} passed, {failed} failed)",
                None,
                ["some block's output may imitate the runner's lines; the verdicts here cannot be trusted"],
            )
        elif (run.returncode != 0) != (summary[1] > 0):
            _add_problem(
                verdicts,
                len(verdicts) - 1,
                f"the test binary exited {run.returncode} after reporting {summary[1]} failed block(s)",
                None,
                ["Wyn's runner exits 1 exactly when a block failed"],
            )
    return verdicts


def _unprintable_block(block: Block, ok: bool, printed: str, seg: list[str]) -> Verdict:
    """A block whose name Wyn cannot print: its result line is read by position, and it fails, saying why."""
    own = [ln for ln in seg if ln.strip()]
    said = "passed" if ok else (formats.assertion_message(own) or "failed")
    return Verdict(
        False,
        "Wyn cannot print this block's name: it has '%', and Wyn passes test names to C's printf as the format",
        block.line,
        details=[
            f"the runner reported it as {printed!r} ({said}); a '%' there is undefined behaviour in the test binary",
            "(it can garble the name or crash the binary): write '%%' for a percent sign, or rename the block",
        ],
    )


def _add_problem(verdicts: list[Verdict], index: int, message: str, line: int | None, details: list[str]) -> None:
    """Make a file-level discrepancy fail the item at index (keeping its own failure, if any)."""
    if index < 0:
        return
    old = verdicts[index]
    if old.passed:
        verdicts[index] = Verdict(False, message, line, details=details)
    else:
        verdicts[index] = Verdict(
            False, old.message, old.line, old.path, old.details + ["", f"also: {message}", *details], old.error
        )


def _line_of_block(source: str, name: str) -> int | None:
    """Where `test "name"` stands in the source, for pointing at a block we did not collect."""
    m = re.search(r'(?m)^\s*test\s*"' + re.escape(name) + '"', source)
    return source.count("\n", 0, m.start()) + 1 if m else None


def _failed_block(block: Block, seg: list[str]) -> Verdict:
    own = [ln for ln in seg if ln.strip()]
    message = formats.assertion_message(own) or "block failed"
    # The block's output is its captured stdout, shown once, under the failure.
    details = [] if own else ["(the block printed nothing)"]
    return Verdict(False, message, block.line, details=details)


def _aborted_block(block: Block, tail: list[str], run: Completed, problem: str | None) -> Verdict:
    panic = locate_panic("\n".join(tail))
    if panic is not None:
        message = panic.message
        where: Where | None = panic if panic.path else None
    else:
        message = problem or f"the test binary stopped (exit {run.returncode}) before reporting this block"
        where = None
    details = [] if tail else ["(no output from this block)"]
    if problem and panic is not None:
        details.append(problem)
    return Verdict(
        False,
        message,
        where.line if where else block.line,
        where.path if where else None,
        details=details + cut_note(run),
    )


# -- verdicts about the session rather than the test: every file's tests get the same one


def no_compiler(problem: str) -> Verdict:
    """No compiler (or not the controller's): the first line says so, the rest is where we looked."""
    lines = problem.splitlines() or [""]
    return Verdict(False, f"pytest-wyn: {lines[0]}", details=lines[1:])


def internal_error(exc: Exception) -> Verdict:
    """A bug of ours: the test fails with its traceback, and the session goes on."""
    trace = "".join(traceback.format_exception(exc)).rstrip("\n").splitlines()
    return Verdict(
        False,
        f"internal error in pytest-wyn: {type(exc).__name__}: {exc}",
        details=["a bug in pytest-wyn, not in your test; please report it with this traceback:", "", *trace],
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def interrupted_verdict(exc: BaseException, line: int) -> Verdict:
    """The test's binary was stopped from outside (pytest-timeout, Ctrl-C): it and its children were killed."""
    output = getattr(exc, "wyn_output", b"")
    details = ["the test binary and its children were killed"]
    if output:
        lines = formats.strip_ansi(output.decode("utf-8", "replace")).splitlines()[-40:]
        details += ["", "its output so far (the last 40 lines at most):", *(f"    {ln}" for ln in lines)]
    return Verdict(False, f"interrupted: {_first_line(exc)}", line, details=details)


def not_run_verdict(exc: BaseException, test_name: str, line: int) -> Verdict:
    """The other tests of a file whose binary was interrupted while ``test_name`` ran: they point at it."""
    return Verdict(
        False, f"not run: this file's test binary was interrupted while {test_name} ran ({_first_line(exc)})", line
    )
