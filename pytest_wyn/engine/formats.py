"""Everything pytest-wyn knows about the text the Wyn toolchain prints.

Colours, diagnostics in their three forms, host-failure messages, panics,
the test runner's result and summary lines, assertion messages: a new Wyn
release that changes one of them is a change to this file only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

# Failures of the machine, not of the source: retried, never cached.
# "Killed signal terminated program cc1" is gcc's report of a cc1 killed by the OOM killer.
HOST_FAILURE = re.compile(
    r"Resource temporarily unavailable|unable to fork|Cannot allocate memory|Text file busy|"
    r"posix_spawn|Too many open files|No space left on device|"
    r"Killed signal terminated program|terminated program \S+ with signal|"
    r"internal compiler error: Killed|virtual memory exhausted|out of memory",
    re.IGNORECASE,
)
# Lines the compiler prints on every build, success or not: not a diagnostic.
_NOISE = re.compile(r"^\s*(Building\b|\S*\s*Built:|Compilation failed|\S*\s*Wynter:|Warning:)")
_PROGRESS = re.compile(r"^\s*(Building\b|\S*\s*Built:)")

_ARROW = re.compile(r"-->\s+(.+?):(\d+)(?::(\d+))?\s*$", re.MULTILINE)
_AT_LINE = re.compile(r"^\s*Error at line (\d+):\s*(.*)$", re.MULTILINE)
_ERROR = re.compile(r"^\s*Error:\s*(.*)$", re.MULTILINE)
_CC_ERROR = re.compile(r"^(.+?\.wyn):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)$", re.MULTILINE)
_PANIC_AT = re.compile(r"panic at (.+?):(\d+):\s*(.*)")
_PANIC = re.compile(r"^\s*Panic:\s*(.*)$", re.MULTILINE)

# The block runner's own lines are coloured; a block's println output is not. The runner prints
# its line right after the block's output, with no newline of its own first: a block ending
# with print_str("x") gives `x  ✓ name`. A result runs to the next marker or the line's end.
_MARKER = r"  \x1b\[[0-9;]*m[\u2713\u2717]\x1b\[0m "
_RESULT = re.compile(r"  \x1b\[[0-9;]*m([\u2713\u2717])\x1b\[0m (.*?)(?=" + _MARKER + r"|\r?$)")
_SUMMARY = re.compile(r"^\x1b\[[0-9;]*m(?:(\d+) tests passed|(\d+) passed, (\d+) failed)\x1b\[0m\s*$")


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def lines_of(text: str) -> list[str]:
    """A program's output as lines, as Wyn's own runner and every terminal reads it.

    Only LF ends a line (CRLF is read as LF). A lone CR, a form feed or any other
    character that ``str.splitlines`` would split on stays inside its line, where
    a comparison sees it and a report shows it (``repr``): split there, a program
    printing ``total: 3\rtotal: 4`` would pass ``// EXPECT: total: 3``.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def host_failure(text: str) -> str | None:
    """The host-resource message in compiler output, if there is one."""
    m = HOST_FAILURE.search(text)
    return m.group(0) if m else None


# What only a real verdict on the source prints: a Wyn diagnostic in one of its forms, or the
# C compiler's own error lines after `Compiler output:` (an empty enum, say).
_REAL_DIAGNOSTIC = re.compile(
    r"^\s*Error\b|-->\s+\S+:\d+|^[^\n]*:\d+(?::\d+)?:\s*(?:fatal )?error\b",
    re.MULTILINE,
)


def has_diagnostic(text: str) -> bool:
    """Whether a failed build's output holds a diagnostic on the source.

    Wyn v1.20 prints only `✗ Build failed` (nothing naming a line) when it
    cannot write its temporary files: that, like silence or noise, is the
    host's failure, retried and never cached.
    """
    return _REAL_DIAGNOSTIC.search(text) is not None or bool(compiler_output(text))


_CHATTER = re.compile(r"^\s*(Building\b|\S*\s*Built:|Compilation failed|\S*\s*Wynter:)")
_ERROR_START = re.compile(r"^\s*(?:\u2717\s*)?(?:Error\b|Build failed)")
_WARNING_START = re.compile(r"^\s*Warning\b")


def arrange_diagnostics(text: str) -> str:
    """A failed build's output as a reader wants it: every error block first (in the toolchain's
    order), then anything else, then the warnings; progress lines and chatter dropped.

    Wyn prints errors on stdout and warnings on stderr, so through one pipe the
    warnings and the closing chatter often come before the error itself.
    """
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if _CHATTER.match(line):
            current = None
            continue
        kind = "error" if _ERROR_START.match(line) else "warning" if _WARNING_START.match(line) else ""
        if kind:
            current = [line]
            blocks.append((kind, current))
        elif current is not None:
            current.append(line)
        elif line.strip():
            current = [line]
            blocks.append(("other", current))
    ordered = [b for k, b in blocks if k == "error"] + [b for k, b in blocks if k == "other"]
    ordered += [b for k, b in blocks if k == "warning"]
    return "\n".join("\n".join(block).rstrip() for block in ordered if "".join(block).strip())


def chatter(text: str) -> str:
    """What ``arrange_diagnostics`` leaves out: the toolchain's progress lines and closing notes."""
    return "\n".join(line for line in text.splitlines() if _CHATTER.match(line))


def without_progress(text: str) -> str:
    """Compiler output less its progress lines (which name a temporary output path)."""
    return "".join(ln for ln in text.splitlines(True) if not _PROGRESS.match(ln))


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


_CC_OUTPUT = re.compile(r"^\s*Compiler output:\s*$", re.MULTILINE)


def compiler_output(text: str) -> str:
    """The C compiler's own lines after Wyn's `Compiler output:` (a C-stage failure), or ""."""
    m = _CC_OUTPUT.search(text)
    if m is None:
        return ""
    kept = []
    for line in text[m.end() :].splitlines():
        if _NOISE.match(line) or line.strip().startswith("\U0001f409"):
            break
        kept.append(line)
    return "\n".join(kept).strip("\n")


def first_message(text: str) -> str:
    """A one-line summary of compiler output with no location."""
    m = _ERROR.search(text)
    if m:
        return m.group(1).strip()
    for line in text.splitlines():
        s = line.strip()
        if s and not _NOISE.match(line):
            return s[:200]
    return "no output"


def shows_source(diagnostics: str, line: int | None) -> bool:
    """Whether the compiler's output already quotes source line ``line`` (as `  12 | code`)."""
    return line is not None and re.search(rf"(?m)^\s*{line}\s*\|", diagnostics) is not None


def locate_panic(text: str) -> Where | None:
    m = _PANIC_AT.search(text)
    if m:
        return Where(m.group(1), int(m.group(2)), "panic: " + m.group(3).strip())
    p = _PANIC.search(text)
    if p:
        return Where(None, 0, "panic: " + p.group(1).strip())
    return None


@dataclass(frozen=True)
class RunnerResult:
    passed: bool
    name: str
    before: str  # what the line held before the marker: the block's own output, unterminated


def runner_results(raw_line: str) -> list[RunnerResult]:
    """The runner's result markers in one line as printed (colours kept), wherever they start."""
    found = []
    pos = 0
    for m in _RESULT.finditer(raw_line):
        found.append(RunnerResult(m.group(1) == "\u2713", m.group(2), raw_line[pos : m.start()]))
        pos = m.end()
    return found


# Windows reports a crash as its NTSTATUS for an exit code (Python shows it unsigned).
NTSTATUS = {
    0xC0000005: "access violation",
    0xC00000FD: "stack overflow",
    0xC0000094: "integer division by zero",
    0xC0000095: "integer overflow",
    0xC000008E: "floating-point division by zero",
    0xC000001D: "illegal instruction",
    0xC0000096: "privileged instruction",
    0xC0000374: "heap corruption",
    0xC0000409: "stack buffer overrun (fail fast)",
    0xC0000017: "out of memory",
    0xC000013A: "interrupted by Ctrl-C",
    0x80000003: "breakpoint",
}
# What a Wyn binary prints on Windows when its crash handler catches a fault (then it exits 1).
_WINDOWS_CRASH = re.compile(r"^\s*Crash detected\b.*$", re.MULTILINE)


def crash_name(returncode: int | None, output: str = "") -> str | None:
    """What a crash exit status (or Wyn's own crash report) means, or None for an ordinary exit."""
    if returncode is None:
        return None
    if returncode == 139:
        return "exit 139: segmentation fault or stack overflow"
    return windows_crash(returncode, output)


def windows_crash(returncode: int | None, output: str = "") -> str | None:
    """A Windows crash, which comes with no signal: an NTSTATUS error code (0xC0000000 and up) for an exit
    status, or Wyn's crash handler's report (`Crash detected`, then exit 1). Never an exit a program chose:
    POSIX exit statuses stop at 255, and a small negative one (-1 to -64) is a signal, judged as such; an
    NTSTATUS read as signed is far below that (0xC0000005 is -1073741819)."""
    if returncode is None or -65536 < returncode < 0:
        return None
    status = returncode & 0xFFFFFFFF
    if status >= 0xC0000000 or status in NTSTATUS:
        return f"exit {status:#010x}: {NTSTATUS.get(status, 'an NTSTATUS error')}"
    found = _WINDOWS_CRASH.search(output) if returncode == 1 else None
    if found is not None:
        return found.group(0).strip()
    return None


def runner_summary(raw_line: str) -> tuple[int, int] | None:
    """(passed, failed) for the runner's closing line, as printed (colours kept)."""
    m = _SUMMARY.match(raw_line)
    if m is None:
        return None
    if m.group(1) is not None:
        return int(m.group(1)), 0
    return int(m.group(2)), int(m.group(3))


def assertion_message(lines: list[str]) -> str | None:
    """The first failed assertion in a block's output (escapes stripped), as one line."""
    for i, ln in enumerate(lines):
        s = ln.strip()
        if s.startswith("assert_eq failed"):
            pairs = dict(x.strip().split(":", 1) for x in lines[i + 1 : i + 3] if ":" in x)
            if "expected" in pairs and "got" in pairs:
                return f"assert_eq failed: expected {pairs['expected'].strip()}, got {pairs['got'].strip()}"
            return "assert_eq failed"
        if s.startswith("assert failed"):
            return "assert failed"
    return None
