"""What keeps concurrent builds apart: one lock per source path, and compile slots machine-wide.

File locks (filelock) in one folder per user (``shared_lock_dir``), shared by
every session and xdist worker of that user; a thread of this process first
queues for a local slot, so the polled file locks only arbitrate between
processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from .cache import CacheDirError, secure_dir
from .defaults import user_cache_root
from .process import Cancelled


def shared_lock_dir() -> tuple[Path | None, str]:
    """Where build locks, compile slots and ``.wyn.c`` markers live, and why not if they cannot.

    One place per user, whatever the cache directory or TMPDIR of a session, so
    that every session of the user shares them; checked as the cache is.
    """
    path = user_cache_root() / "locks"
    try:
        return secure_dir(path), ""
    except CacheDirError as exc:
        return None, f"build locks disabled: {exc}"
    except OSError as exc:
        return None, f"build locks disabled: cannot create {path} ({exc.strerror or exc})"


class source_lock:
    """Serialises builds of one source path across processes and sessions.

    Entering gives the path of a marker file that says "the FILE.wyn.c beside
    this source is ours": a build killed before its clean-up leaves the marker,
    so the next build knows to remove the file rather than keep it.
    """

    def __init__(self, lock_dir: Path | None, source: Path) -> None:
        name = hashlib.sha256(str(source.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        self.lock = FileLock(str(lock_dir / f"{name}.lock")) if lock_dir is not None else None
        self.marker = lock_dir / f"{name}.c-is-ours" if lock_dir is not None else None

    def __enter__(self) -> Path | None:
        if self.lock is not None:
            self.lock.acquire()
        return self.marker

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.release()


class compile_slot:
    """At most ``jobs`` compiles at once on this machine, whatever the number of workers.

    Compiling is CPU-bound: more compiles than cores only thrash, and would let
    the compile timeout fire on a compile that is merely waiting for a CPU.
    """

    def __init__(self, lock_dir: Path | None, jobs: int, cancel: threading.Event | None = None) -> None:
        self.locks = [FileLock(str(lock_dir / f"compile-slot-{n}.lock")) for n in range(jobs)] if lock_dir else []
        self.held: FileLock | None = None
        self.cancel = cancel

    def __enter__(self) -> None:
        delay = 0.005
        while self.locks:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled("the build was cancelled while waiting for a compile slot")
            for lock in self.locks:
                try:
                    lock.acquire(timeout=0)
                except TimeoutError:
                    continue
                self.held = lock
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def __exit__(self, *exc: object) -> None:
        if self.held is not None:
            self.held.release()


@contextlib.contextmanager
def local_slot(slots: threading.BoundedSemaphore, cancel: threading.Event | None) -> Iterator[None]:
    while not slots.acquire(timeout=0.05):
        if cancel is not None and cancel.is_set():
            raise Cancelled("the build was cancelled while waiting for a compile slot")
    try:
        yield
    finally:
        slots.release()
