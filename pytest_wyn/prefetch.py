"""Run-ahead: with no workers, build and run upcoming files in threads while earlier items report.

A warm run's time is then about its slowest test, not the sum of them. Items
still report in order, each waiting for its own file; nothing else changes:
the same ``WynFile.execute`` computes the same outcome, only earlier. CPU-bound
binaries (as the record says, or never seen) take one of ``cores`` slots, so
that a run timeout keeps measuring the test, not the contention; compiles keep
their own machine-wide slots. Stopping (end of session, Ctrl-C, ``-x``) kills
everything started ahead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .process import Cancelled
from .record import FileCosts

if TYPE_CHECKING:
    from .items import WynFile
    from .running import FileOutcome

LANES_PER_CORE = 4  # sleeping tests overlap beyond the cores
WINDOW = 1024  # files started ahead of the reporting test, at most
MAX_BUFFERED = 256 << 20  # bytes of output held for finished files whose tests have not reported yet


class RunAhead:
    def __init__(self, files: list[WynFile], record: dict[str, FileCosts], stopping: Callable[[], bool]) -> None:
        cores = os.cpu_count() or 1
        self.lanes = LANES_PER_CORE * cores
        self.record = record
        self.stopping = stopping
        self.cpu_slots = threading.BoundedSemaphore(cores)
        self.pool = ThreadPoolExecutor(max_workers=self.lanes, thread_name_prefix="wyn-run-ahead")
        # The slowest runs last time start first, so that they overlap everything else.
        position = {file: n for n, file in enumerate(files)}
        self.waiting: list[WynFile] = sorted(files, key=lambda f: (-self._predicted(f), position[f]))
        self.started: dict[WynFile, tuple[Future[FileOutcome | None], threading.Event]] = {}
        self.running = 0  # started and not finished: at most one per lane, so nothing queues in the pool
        self.buffered = 0  # output bytes of finished files not taken yet
        self.lock = threading.RLock()  # the main thread takes, pool threads finish and fill
        self.closed = False

    def _predicted(self, file: WynFile) -> float:
        costs = self.record.get(file.nodeid)
        return costs.run_seconds if costs is not None else 0.0

    def take(self, file: WynFile) -> FileOutcome | None:
        """The file's outcome, computed ahead (waiting for it if need be), or None: compute it now."""
        with self.lock:
            self._fill()
            entry = self.started.get(file)
            if entry is None:
                if file in self.waiting:
                    self.waiting.remove(file)  # not started yet: its test computes it now, and only then
                return None
        try:
            outcome = entry[0].result()  # an interrupt here leaves the entry for abandon() and close()
        except Cancelled:
            outcome = None
        with self.lock:
            self.started.pop(file, None)
            self.buffered -= _held(outcome)
            self._fill()
        if outcome is not None:
            outcome.ahead = True
        return outcome

    def abandon(self, file: WynFile) -> None:
        """The item waiting for this file was interrupted: kill what was started for it."""
        with self.lock:
            entry = self.started.pop(file, None)
        if entry is not None:
            entry[1].set()

    def close(self) -> None:
        """Cancel everything started ahead, kill its processes, and wait for the threads."""
        with self.lock:
            self.closed = True
            self.waiting.clear()
            entries = list(self.started.values())
        for future, cancel in entries:
            cancel.set()
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.started.clear()

    def _fill(self) -> None:
        """Start waiting files while a lane is free (called with the lock held)."""
        while (
            self.waiting
            and self.running < self.lanes
            and len(self.started) < WINDOW
            and self.buffered < MAX_BUFFERED
            and not self.closed
            and not self.stopping()
        ):
            file = self.waiting.pop(0)
            cancel = threading.Event()
            self.running += 1
            self.started[file] = (self.pool.submit(self._prepare, file, cancel), cancel)

    def _prepare(self, file: WynFile, cancel: threading.Event) -> FileOutcome | None:
        outcome: FileOutcome | None = None
        try:
            if cancel.is_set() or self.stopping():
                return None  # nothing new starts once the session is stopping (-x, --maxfail)
            costs = self.record.get(file.nodeid)
            gate = self.cpu_slots if costs is None or costs.cpu_bound else None
            outcome = file.execute(cancel, gate)
            return outcome
        finally:
            with self.lock:
                self.running -= 1
                self.buffered += _held(outcome)
                self._fill()


def _held(outcome: FileOutcome | None) -> int:
    return len(outcome.run.output) if outcome is not None and outcome.run is not None else 0
