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
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .process import Cancelled
from .record import FileCosts

if TYPE_CHECKING:
    from .items import WynFile
    from .running import FileOutcome

LANES_PER_CORE = 4  # sleeping tests overlap beyond the cores
WINDOW_PER_LANE = 4  # files finished ahead of the reporting item, at most, per lane


class RunAhead:
    def __init__(self, files: list[WynFile], record: dict[str, FileCosts], stopping: Callable[[], bool]) -> None:
        cores = os.cpu_count() or 1
        self.lanes = LANES_PER_CORE * cores
        self.window = WINDOW_PER_LANE * self.lanes
        self.record = record
        self.stopping = stopping
        self.cpu_slots = threading.BoundedSemaphore(cores)
        self.pool = ThreadPoolExecutor(max_workers=self.lanes, thread_name_prefix="wyn-run-ahead")
        self.waiting: deque[WynFile] = deque(files)
        self.started: dict[WynFile, tuple[Future[FileOutcome | None], threading.Event]] = {}
        self.closed = False

    def take(self, file: WynFile) -> FileOutcome | None:
        """The file's outcome, computed ahead (waiting for it if need be), or None: compute it now."""
        self._fill()
        entry = self.started.get(file)
        if entry is None:
            return None
        try:
            outcome = entry[0].result()  # an interrupt here leaves the entry for abandon() and close()
        except Cancelled:
            outcome = None
        self.started.pop(file, None)
        self._fill()
        if outcome is not None:
            outcome.ahead = True
        return outcome

    def abandon(self, file: WynFile) -> None:
        """The item waiting for this file was interrupted: kill what was started for it."""
        entry = self.started.pop(file, None)
        if entry is not None:
            entry[1].set()

    def close(self) -> None:
        """Cancel everything started ahead, kill its processes, and wait for the threads."""
        self.closed = True
        self.waiting.clear()
        for future, cancel in self.started.values():
            cancel.set()
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.started.clear()

    def _fill(self) -> None:
        while self.waiting and len(self.started) < self.window and not self.closed and not self.stopping():
            file = self.waiting.popleft()
            cancel = threading.Event()
            self.started[file] = (self.pool.submit(self._prepare, file, cancel), cancel)

    def _prepare(self, file: WynFile, cancel: threading.Event) -> FileOutcome | None:
        if cancel.is_set() or self.stopping():
            return None  # nothing new starts once the session is stopping (-x, --maxfail)
        costs = self.record.get(file.nodeid)
        gate = self.cpu_slots if costs is None or costs.cpu_bound else None
        return file.execute(cancel, gate)
