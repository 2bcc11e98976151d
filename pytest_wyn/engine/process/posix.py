"""The POSIX back-end (Linux, macOS): one child with empty stdin, one pipe, bounded capture, group kill.

Used for both the compiler and the test binaries. The child gets its own
session (process group) so that a timeout, or simply its exit, lets us kill
everything it started; output beyond the limit is counted, not kept. Linux
extras (pidfd, prlimit, /proc, the parent-death signal) are found by feature
detection, so that the macOS path runs wherever they are missing.
"""

from __future__ import annotations

import sys

assert sys.platform != "win32"  # imported by engine.process.backend() on POSIX only

import atexit
import ctypes
import dataclasses
import errno
import os
import select
import selectors
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from .common import (
    CANCEL_POLL_SECONDS,
    MEMORY_LIMIT_WORKS,
    BoundedBuffer,
    Cancelled,
    Completed,
    Limits,
    Run,
    pipe_options,
)
from .watchdog import Sweeper, Watchdog, kill_group

# After the main process exits, how long a child that inherited the pipe may
# keep it open before we stop reading and kill the group.
EXIT_GRACE_SECONDS = 0.2
# How many times to retry starting a binary that is briefly "busy" (see run_bounded).
EXEC_BUSY_RETRIES = 40


def run(request: Run) -> Completed:
    """Run argv to its end (or its timeout), then kill whatever is left of its process group.

    ``die_with_parent``: if this process dies without killing the group (a
    killed xdist worker, pytest-timeout's ``os._exit``), the watchdog kills it.
    Limits are set from here right after the start (``prlimit``), so that the
    start stays a vfork: no code of ours runs in the child.
    """
    argv, timeout, limit = request.argv, request.timeout, request.limit
    die_with_parent, limits, cancel = request.die_with_parent, request.limits, request.cancel
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was cancelled before it started")
    start = time.monotonic()
    late_limits = limits is not None and _can_prlimit
    pdeathsig = die_with_parent and not _watchdog.available()  # the kernel's way, at a full fork's cost
    for attempt in range(EXEC_BUSY_RETRIES + 1):
        try:
            proc = subprocess.Popen(
                argv,
                **pipe_options(request),
                start_new_session=True,
                close_fds=True,
                preexec_fn=_child_setup(pdeathsig, None if late_limits else limits),
            )
            break
        except OSError as exc:
            # ETXTBSY: the binary was written by this process a moment ago, and a child that another
            # thread forked meanwhile still holds the write descriptor until its own exec. Brief.
            if exc.errno == errno.ETXTBSY and attempt < EXEC_BUSY_RETRIES:
                time.sleep(0.005 * (attempt + 1))
                continue
            return Completed(None, None, False, b"", 0, 0.0, launch_error=f"{exc.strerror or exc} ({argv[0]})")
    watched = False
    try:
        over_at_start = _set_limits(proc.pid, limits) if late_limits and limits is not None else 0
        watched = die_with_parent and not pdeathsig and _watchdog.watch(proc.pid)
        if over_at_start:
            _kill_group(proc.pid)  # it had grown past the memory limit before the limit was set
        done = _collect(proc, start, timeout, limit, cancel)
        if over_at_start:
            done = dataclasses.replace(done, peak_bytes=over_at_start)
        return dataclasses.replace(done, limits=limits) if limits is not None else done
    except BaseException as exc:
        # A foreign exception (pytest-timeout, Ctrl-C, SystemExit) unwinds through us:
        # nothing we started may outlive it. What it printed so far goes with the exception.
        _kill_group(proc.pid)
        partial = _partial.__dict__.pop("output", b"")
        if partial and not hasattr(exc, "wyn_output"):
            try:
                exc.wyn_output = partial  # type: ignore[attr-defined]
            except AttributeError:
                pass
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        raise
    finally:
        if watched:
            _watchdog.unwatch(proc.pid)  # the group is dead (killed above or in _collect): forget it


def _collect(
    proc: subprocess.Popen[bytes], start: float, timeout: float, limit: int, cancel: threading.Event | None
) -> Completed:
    """Read the child's output until it exits (or the deadline), then kill its group."""
    assert proc.stdout is not None
    buf = BoundedBuffer(limit)
    deadline = start + timeout
    timed_out = False
    waited = 0.0
    exited_at: float | None = None
    eof = False
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    watch = _exit_watch(proc.pid)
    pidfd = watch[0] if watch is not None else None
    _partial.__dict__.pop("output", None)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ, "out")
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ, "exit")
            while True:
                now = time.monotonic()
                if exited_at is None and pidfd is None and _has_exited(proc):
                    exited_at = now
                if exited_at is not None and (eof or now - exited_at > EXIT_GRACE_SECONDS):
                    break  # done, or a child that outlived the binary still holds the pipe
                if now >= deadline:
                    timed_out = exited_at is None
                    waited = _cpu_wait_seconds(proc.pid) if timed_out else 0.0
                    break
                wait = deadline - now
                if cancel is not None:
                    if cancel.is_set():
                        raise Cancelled("the run was cancelled")
                    wait = min(wait, CANCEL_POLL_SECONDS)
                if pidfd is None:
                    wait = min(wait, 0.001 if eof else 0.05)
                elif exited_at is not None:
                    wait = min(wait, EXIT_GRACE_SECONDS - (now - exited_at))
                for key, _ in sel.select(max(wait, 0.0)):
                    if key.data == "exit":
                        exited_at = time.monotonic()
                        sel.unregister(key.fd)
                        continue
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    if chunk:
                        buf.add(chunk)
                    else:
                        eof = True
                        sel.unregister(fd)
    except BaseException:
        _partial.output = buf.result()[0]  # for run_bounded to attach to an interruption
        raise
    finally:
        if watch is not None:
            watch[1]()
    _kill_group(proc.pid)
    returncode, cpu = _reap(proc)
    proc.stdout.close()
    output, cut = buf.result()
    sig = -returncode if returncode < 0 else None
    if timed_out:
        seconds = time.monotonic() - start
        return Completed(None, None, True, output, cut, seconds, cpu_seconds=cpu, waited_seconds=waited)
    return Completed(returncode, sig, False, output, cut, time.monotonic() - start, cpu_seconds=cpu)


def _cpu_wait_seconds(pid: int) -> float:
    """How long the process's threads waited for a CPU while ready to run (Linux schedstat), or 0."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as stat:
                total += int(stat.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    return total / 1e9


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for the child; its exit code and the CPU seconds it used (to tell a CPU-limit kill).

    (Not its ru_maxrss: after a vfork that counts the pytest process's size too.)
    """
    wait4 = getattr(os, "wait4", None)
    if wait4 is None or proc.returncode is not None:
        return proc.wait(), 0.0
    try:
        _, status, usage = wait4(proc.pid, 0)
    except ChildProcessError:
        return proc.wait(), 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when pid exits (Linux 5.3+), or None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd


# Linux sets limits from the parent (prlimit); macOS only in the child, and it refuses an
# address-space limit (setrlimit(RLIMIT_AS) fails with EINVAL there): no memory limit on macOS.
def _posix_resource() -> Any:
    """The ``resource`` module, imported at first use (POSIX only; None elsewhere or where it is missing)."""
    try:
        import resource
    except ImportError:
        return None
    return resource


_resource = _posix_resource()
_prlimit: Callable[..., Any] | None = getattr(_resource, "prlimit", None)
_can_prlimit = _prlimit is not None
_partial = threading.local()  # the output of a run interrupted from outside, until run_bounded takes it
_watchdog = Watchdog()
_sweeper = Sweeper()
atexit.register(lambda: _sweeper.flush())


def _set_limits(pid: int, limits: Limits) -> int:
    """Set the binary's limits from here, as it starts; its size then if already over them, else 0.

    Its first moments run without them. CPU time counts from the start, so the
    CPU limit is exact. For memory: a process that is still within the limit
    when it is set can never have been refused anything, so it runs as if the
    limit had been there from the start; one that is already over it is killed
    (and reported as over the limit), as it would have failed to grow past it.
    """
    if _prlimit is None:
        return 0
    try:
        if limits.cpu_seconds:
            _prlimit(pid, _resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        if limits.memory_bytes:
            _prlimit(pid, _resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            peak = _peak_address_space(pid)
            return peak if peak > limits.memory_bytes else 0
    except (ProcessLookupError, PermissionError):
        pass  # already gone: its exit is collected as usual
    return 0


def _peak_address_space(pid: int) -> int:
    """VmPeak of a running process, in bytes (0 if it is gone or the kernel does not say)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child_setup(die_with_parent: bool, limits: Limits | None) -> Callable[[], None] | None:
    """What the child does between fork and exec, where the kernel offers no other way
    (no prlimit, no watchdog); None keeps the fast vfork path."""
    if not (die_with_parent and _libc is not None) and limits is None:
        return None

    def setup() -> None:
        if die_with_parent and _libc is not None:
            # Be killed if the process that started us dies (a killed worker, pytest-timeout's os._exit).
            _libc.prctl(_PR_SET_PDEATHSIG, 9)  # SIGKILL
        if _resource is None:
            return
        if limits is not None and limits.cpu_seconds:
            _resource.setrlimit(_resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        if limits is not None and limits.memory_bytes and MEMORY_LIMIT_WORKS:
            try:
                _resource.setrlimit(_resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            except (ValueError, OSError):
                pass  # refused (as macOS does): the binary runs without it, never fails for it

    return setup


_PR_SET_PDEATHSIG = 1
_libc = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        _libc = None


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """True once the child is a zombie; with ``os.waitid`` it is not reaped, so its group id stays ours.

    Without it (CPython on macOS before 3.13) the child is reaped here; its
    group lives on while any member does, and ``_reap`` takes the status Popen kept.
    """
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return proc.poll() is not None
    try:
        info = waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _exit_watch(pid: int) -> tuple[int, Callable[[], None]] | None:
    """A descriptor that becomes readable when pid exits, and how to close it; None: poll instead.

    Linux: a pidfd. macOS and the BSDs: a kqueue with NOTE_EXIT for the pid.
    """
    fd = _pidfd(pid)
    if fd is not None:
        return fd, lambda: os.close(fd)
    kqueue = getattr(select, "kqueue", None)
    if kqueue is None:
        return None
    try:
        queue = kqueue()
        event = select.kevent(  # type: ignore[attr-defined,unused-ignore]
            pid,
            filter=select.KQ_FILTER_PROC,  # type: ignore[attr-defined,unused-ignore]
            flags=select.KQ_EV_ADD | select.KQ_EV_ONESHOT,  # type: ignore[attr-defined,unused-ignore]
            fflags=select.KQ_NOTE_EXIT,  # type: ignore[attr-defined,unused-ignore]
        )
        queue.control([event], 0, 0)
    except OSError:
        return None  # already gone: the poll says so at once
    return queue.fileno(), queue.close


def _kill_group(pgid: int) -> None:
    """The binary's process group now; what left it for a group of its own within the session, soon."""
    kill_group(pgid)
    _sweeper.ended(pgid)


def flush() -> None:
    """Sweep the sessions of finished runs now (the end of a session)."""
    _sweeper.flush()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
