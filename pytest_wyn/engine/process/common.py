"""What every process back-end shares: the result of a run, its limits, bounded capture.

Plain data and pure functions: no platform module is imported here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

# How often a run that may be cancelled from another thread (run-ahead) looks for it.
CANCEL_POLL_SECONDS = 0.05
# An address-space limit works where the kernel has one that a parent may set (not macOS, not Windows:
# there a job's memory limit is used instead, see win32.py).
MEMORY_LIMIT_WORKS = sys.platform.startswith(("linux", "freebsd", "win32"))


class Cancelled(Exception):
    """Another thread asked a build or run to stop; what it started is already killed."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of a test binary, as Wyn's own runner sets them (``ulimit -t``)."""

    cpu_seconds: int | None = None  # SIGXCPU at this much CPU time, SIGKILL a second later
    memory_bytes: int | None = None  # address space (RLIMIT_AS): allocations beyond it fail


@dataclass(frozen=True)
class Completed:
    """What a process did. ``output`` is head + tail when ``cut_bytes`` > 0."""

    returncode: int | None  # None: never started, or killed by us at the timeout
    signal: int | None  # the signal that ended it, if one did
    timed_out: bool
    output: bytes
    cut_bytes: int
    seconds: float
    launch_error: str | None = None
    limits: Limits | None = None  # what it ran under
    cpu_seconds: float = 0.0  # CPU time the process itself used
    waited_seconds: float = 0.0  # at a timeout: how long its threads were ready to run but had no CPU
    peak_bytes: int = 0  # set only when it had grown past the memory limit before the limit was set

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")

    @property
    def signal_name(self) -> str:
        if self.signal is None:
            return ""
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"


class BoundedBuffer:
    """Keeps the first ``head`` and the last ``tail`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(self.tail[0]) >= self.tail_limit:
            self.tail_size -= len(self.tail.popleft())

    def result(self) -> tuple[bytes, int]:
        tail = b"".join(self.tail)
        if len(tail) > self.tail_limit:
            tail = tail[-self.tail_limit :]
        cut = self.total - len(self.head) - len(tail)
        if cut <= 0:
            return bytes(self.head) + tail, 0
        # Cut on line boundaries so that the kept lines are whole.
        head = bytes(self.head)
        if b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]
        if b"\n" in tail:
            tail = tail[tail.index(b"\n") + 1 :]
        cut = self.total - len(head) - len(tail)
        return head + tail, cut


@dataclass(frozen=True)
class Run:
    """One program to run, and how: what every back-end's ``run`` takes."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    timeout: float
    limit: int  # bytes of output kept (head + tail)
    die_with_parent: bool = False  # killed if this process dies without killing it
    limits: Limits | None = None
    cancel: threading.Event | None = None  # set from another thread: kill it and raise Cancelled


def pipe_options(request: Run) -> dict[str, Any]:
    """How every back-end starts a program: its directory and environment, no stdin, one pipe for all output."""
    return {
        "cwd": request.cwd,
        "env": request.env,
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
    }


def child_env(remove: tuple[str, ...] = ("WYN_LENIENT",), extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in remove}
    if extra:
        env.update(extra)
    return env
