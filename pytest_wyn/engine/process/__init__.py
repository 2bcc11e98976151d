"""Running one child process, on every platform Wyn ships on: one interface, a back-end per platform.

``run_bounded`` starts a program with an empty stdin and its output in one
bounded pipe, waits with a deadline, kills the whole tree it started, applies
CPU and memory limits, and says how it ended; ``pid_alive`` checks a recorded
pid. The back-end (``posix`` for Linux and macOS, ``win32`` for Windows) is
imported at first use, never when pytest loads the plugin.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

from .common import MEMORY_LIMIT_WORKS, BoundedBuffer, Cancelled, Completed, Limits, Run, child_env

__all__ = [
    "MEMORY_LIMIT_WORKS",
    "BoundedBuffer",
    "Cancelled",
    "Completed",
    "Limits",
    "Run",
    "backend",
    "child_env",
    "pid_alive",
    "run_bounded",
    "sweep",
]

_chosen: ModuleType | None = None


def backend() -> ModuleType:
    """The process back-end of this platform, imported now if it was not yet."""
    global _chosen
    if _chosen is None:
        if sys.platform == "win32":
            from . import win32 as chosen
        else:
            from . import posix as chosen
        _chosen = chosen
    return _chosen


def run_bounded(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    timeout: float,
    limit: int,
    die_with_parent: bool = False,
    limits: Limits | None = None,
    cancel: threading.Event | None = None,
) -> Completed:
    """Run argv to its end (or its timeout), then kill whatever is left of what it started."""
    result: Completed = backend().run(Run(argv, cwd, env, timeout, limit, die_with_parent, limits, cancel))
    return result


def sweep() -> None:
    """Kill now what finished runs left behind in their sessions (POSIX sweeps them in batches)."""
    if _chosen is not None and hasattr(_chosen, "flush"):
        _chosen.flush()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    return bool(backend().pid_alive(pid))
