"""Run one child process: empty stdin, one pipe, bounded capture, group kill.

Used for both the compiler and the test binaries. The child gets its own
session (process group) so that a timeout, or simply its exit, lets us kill
everything it started; output beyond the limit is counted, not kept.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass

# After the main process exits, how long a child that inherited the pipe may
# keep it open before we stop reading and kill the group.
EXIT_GRACE_SECONDS = 0.2


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


def child_env(remove: tuple[str, ...] = ("WYN_LENIENT",), extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in remove}
    if extra:
        env.update(extra)
    return env


def run_bounded(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    timeout: float,
    limit: int,
) -> Completed:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        return Completed(None, None, False, b"", 0, 0.0, launch_error=f"{exc.strerror or exc} ({argv[0]})")
    assert proc.stdout is not None
    buf = BoundedBuffer(limit)
    deadline = start + timeout
    timed_out = False
    exited_at: float | None = None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and _has_exited(proc.pid):
                exited_at = now
            if exited_at is not None and now - exited_at > EXIT_GRACE_SECONDS:
                break
            if now >= deadline:
                timed_out = exited_at is None
                break
            wait = min(deadline - now, 0.05)
            if not sel.select(wait):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                break
            buf.add(chunk)
    # EOF may come before the exit (the child closed its output): wait for it.
    while exited_at is None and not timed_out:
        if _has_exited(proc.pid):
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
        time.sleep(0.01)
    _kill_group(proc.pid)
    returncode = proc.wait()
    proc.stdout.close()
    output, cut = buf.result()
    sig = -returncode if returncode < 0 else None
    if timed_out:
        return Completed(None, None, True, output, cut, time.monotonic() - start)
    return Completed(returncode, sig, False, output, cut, time.monotonic() - start)


def _has_exited(pid: int) -> bool:
    """True once the child is a zombie; it is not reaped, so its group id stays ours."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
