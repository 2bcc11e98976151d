"""Run-ahead: with no workers, build and run upcoming files in threads while earlier items report.

A warm run's time is then about its slowest test, not the sum of them. Items
still report in order, each waiting for its own file; nothing else changes:
the same ``FileRun.execute`` (runner.py) computes the same outcome, only earlier.

What the record says of each file's last run decides how it is started
(``Kind``): a CPU-bound binary (``FileCosts.cpu_bound``) starts only when
one of ``cores`` slots is free, so that a run timeout keeps measuring the test,
not the contention; a file never seen takes a slot around its run too; a
binary that mostly sleeps (timers, channels) gets a lane of its own kind, so
that sleepers never keep quick files from running ahead. Compiles keep their
own machine-wide slots. Stopping (end of session, Ctrl-C, ``-x``) kills
everything started ahead.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from .defaults import usable_cpus
from .process import Cancelled
from .record import FileCosts

if TYPE_CHECKING:
    from .results import FileOutcome
    from .runner import FileRun


LANES_PER_CORE = 4  # files started at once, per kind, per core
WINDOW = 1024  # files started ahead of the reporting test, at most
MAX_BUFFERED = 256 << 20  # bytes of output held for finished files whose tests have not reported yet
SLEEPER_SECONDS = 0.1  # a run this long that used little CPU last time waits, mostly
STARVED_FRACTION = 0.5  # a timeout after waiting this part of it for a CPU (starved) is run again, alone


class Kind(enum.Enum):
    UNKNOWN = "never run here: takes a CPU slot around its run"
    HEAVY = "CPU-bound: starts when a CPU slot is free"
    SLEEPER = "mostly waits: started in a lane of its own"
    QUICK = "short: no slot"


def kind_of(costs: FileCosts | None) -> Kind:
    if costs is None:
        return Kind.UNKNOWN
    if costs.cpu_bound:
        return Kind.HEAVY
    if costs.run_seconds >= SLEEPER_SECONDS:
        return Kind.SLEEPER
    return Kind.QUICK


WAIT_TICK = 1.0  # seconds between status updates while a test waits for its file


class RunAhead:
    """Files started ahead of their tests, in threads.

    ``barriers`` maps a file to the position of the last other (Python) test
    that comes before it: such a test may change the environment, the working
    directory or the files a binary reads, so the file starts only once that
    test has finished (``passed``), as a serial run would have run it.
    """

    def __init__(
        self,
        files: Sequence[FileRun],
        record: dict[str, FileCosts],
        stopping: Callable[[], bool],
        barriers: Sequence[tuple[FileRun, int]] = (),
        waiting: Callable[[bool], None] | None = None,
    ) -> None:
        cores = usable_cpus()
        self.on_wait = waiting  # called about once a second while a test waits for its file (a status line)
        self.lanes = LANES_PER_CORE * cores
        self.record = record
        self.stopping = stopping
        self.lock = threading.RLock()  # the main thread takes, pool threads finish and fill
        self.cpu_slots = CpuSlots(cores, self.lock)
        self.pool = ThreadPoolExecutor(max_workers=2 * self.lanes, thread_name_prefix="wyn-run-ahead")
        # The slowest runs last time start first, so that they overlap everything else.
        position = {file: n for n, file in enumerate(files)}
        ordered = sorted(files, key=lambda f: (-self._predicted(f), position[f]))
        self.waiting: dict[Kind, deque[FileRun]] = {kind: deque() for kind in Kind}
        self.kinds: dict[FileRun, Kind] = {}
        self.held: dict[int, list[FileRun]] = {}  # barrier position -> files waiting for that test to finish
        self.passed_upto = -1  # every other test up to this position has finished
        behind = dict(barriers)
        for file in ordered:
            kind = kind_of(record.get(file.nodeid))
            self.kinds[file] = kind
            barrier = behind.get(file, -1)
            if barrier >= 0:
                self.held.setdefault(barrier, []).append(file)
            else:
                self.waiting[kind].append(file)
        self.claimed: set[FileRun] = set()  # taken by their own item before they started here
        self.started: dict[FileRun, tuple[Future[FileOutcome | None], threading.Event]] = {}
        self.running = 0  # started, not sleepers, not finished: at most one per lane, so nothing queues
        self.sleeping = 0  # sleepers started and not finished: as many lanes again
        self.buffered = 0  # output bytes of finished files not taken yet
        self.closed = False
        self.paused = False  # while a file runs again alone: nothing new starts
        self.idle = threading.Condition(self.lock)  # notified as each started file finishes

    def _predicted(self, file: FileRun) -> float:
        costs = self.record.get(file.nodeid)
        return costs.run_seconds if costs is not None else 0.0

    def take(self, file: FileRun) -> FileOutcome:
        """The file's outcome, computed ahead (waiting for it if need be), or now if it has not started.

        A run that timed out after waiting for a CPU (``STARVED_FRACTION`` of
        its timeout or more) timed the contention, not the test: it runs again
        alone, as a serial session would have run it, and that run decides.
        """
        outcome = self._take(file)
        if outcome.run is None or not outcome.run.timed_out:
            return outcome
        waited = outcome.run.waited_seconds
        if waited < STARVED_FRACTION * outcome.timeout:
            return outcome
        return dataclasses.replace(self._alone(file), waited_before_rerun=waited)

    def _take(self, file: FileRun) -> FileOutcome:
        with self.lock:
            self._fill()
            entry = self.started.get(file)
            if entry is None:
                self.claimed.add(file)  # not started yet: its test computes it now, and only then
        if entry is None:
            return self._now(file)
        try:
            outcome = self._wait(entry[0])  # an interrupt here leaves the entry for abandon() and close()
        except Cancelled:
            outcome = None
        with self.lock:
            self.started.pop(file, None)
            self.buffered -= _held(outcome)
            self._fill()
        if outcome is None:
            return self._now(file)  # cancelled (for a run alone, or the session is stopping): as serial does
        return dataclasses.replace(outcome, ahead=True)

    def _wait(self, future: Future[FileOutcome | None]) -> FileOutcome | None:
        """The future's result; ``on_wait(False)`` each WAIT_TICK seconds it is not there yet, then ``(True)``."""
        if self.on_wait is None:
            return future.result()
        ticked = False
        try:
            while True:
                try:
                    return future.result(timeout=WAIT_TICK)
                except FutureTimeout:
                    ticked = True
                    self.on_wait(False)
        finally:
            if ticked:
                self.on_wait(True)

    def _now(self, file: FileRun) -> FileOutcome:
        """Compute the file in this thread, under a CPU slot if its run may burn CPU."""
        kind = self.kinds.get(file, Kind.UNKNOWN)
        return file.execute(None, self.cpu_slots if kind in (Kind.HEAVY, Kind.UNKNOWN) else None)

    def _alone(self, file: FileRun) -> FileOutcome:
        """Run the file with nothing of ours alongside: start nothing new, and stop what is running.

        What is stopped is not waited for (a test's own timeout, pytest-timeout's
        for instance, must not count other files' runs): each is computed again
        by its own test, as a serial run would.
        """
        try:
            with self.lock:
                self.paused = True
                for future, cancel in self.started.values():
                    if not future.done():
                        cancel.set()
                while self.running or self.sleeping:
                    self.idle.wait()
            outcome = file.execute()
            return dataclasses.replace(outcome, ahead=True)  # its duration is this run's, not the wait
        finally:
            with self.lock:
                self.paused = False
                self._fill()

    def passed(self, position: int) -> None:
        """Another test, at this position in the session, has finished: files behind it may start."""
        with self.lock:
            if position <= self.passed_upto:
                return
            self.passed_upto = position
            released = [at for at in self.held if at <= position]
            for at in sorted(released):
                for file in self.held.pop(at):
                    self.waiting[self.kinds[file]].append(file)
            if released:
                for kind, queue in self.waiting.items():
                    self.waiting[kind] = deque(sorted(queue, key=lambda f: -self._predicted(f)))
            self._fill()

    def run_alone(self, file: FileRun) -> FileOutcome:
        """The file's run again, with nothing of ours alongside (see ``_alone``)."""
        return self._alone(file)

    def abandon(self, file: FileRun) -> None:
        """The item waiting for this file was interrupted: kill what was started for it."""
        with self.lock:
            entry = self.started.pop(file, None)
        if entry is not None:
            entry[1].set()

    def close(self) -> None:
        """Cancel everything started ahead, kill its processes, and wait for the threads."""
        with self.lock:
            self.closed = True
            for queue in self.waiting.values():
                queue.clear()
            self.held.clear()
            entries = list(self.started.values())
        for future, cancel in entries:
            cancel.set()
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.started.clear()

    def _fill(self) -> None:
        """Start waiting files while a lane (and for a CPU-bound one, a slot) is free; lock held."""
        while (
            len(self.started) < WINDOW
            and self.buffered < MAX_BUFFERED
            and not self.closed
            and not self.paused
            and not self.stopping()
        ):
            file = self._next()
            if file is None:
                return
            cancel = threading.Event()
            if self.kinds[file] is Kind.SLEEPER:
                self.sleeping += 1
            else:
                self.running += 1
            self.started[file] = (self.pool.submit(self._prepare, file, cancel), cancel)

    def _next(self) -> FileRun | None:
        """The slowest waiting file that may start now (a HEAVY one with its CPU slot taken)."""
        best: Kind | None = None
        for kind, queue in self.waiting.items():
            while queue and queue[0] in self.claimed:
                self.claimed.discard(queue.popleft())
            if not queue or not self._may_start(kind):
                continue
            if best is None or self._predicted(queue[0]) > self._predicted(self.waiting[best][0]):
                best = kind
        if best is None:
            return None
        if best is Kind.HEAVY:
            self.cpu_slots.free -= 1
        return self.waiting[best].popleft()

    def _may_start(self, kind: Kind) -> bool:
        if kind is Kind.SLEEPER:
            return self.sleeping < self.lanes
        return self.running < self.lanes and (kind is not Kind.HEAVY or self.cpu_slots.free > 0)

    def _prepare(self, file: FileRun, cancel: threading.Event) -> FileOutcome | None:
        outcome: FileOutcome | None = None
        kind = self.kinds[file]
        try:
            if cancel.is_set() or self.stopping():
                return None  # nothing new starts once the session is stopping (-x, --maxfail)
            gate = self.cpu_slots if kind is Kind.UNKNOWN else None
            outcome = file.execute(cancel, gate)
            return outcome
        finally:
            with self.lock:
                if kind is Kind.HEAVY:
                    self.cpu_slots.give_back()
                if kind is Kind.SLEEPER:
                    self.sleeping -= 1
                else:
                    self.running -= 1
                self.buffered += _held(outcome)
                self.idle.notify_all()
                self._fill()


class CpuSlots:
    """As many CPU-bound runs as cores; shares the run-ahead's lock, so that filling sees it exactly."""

    def __init__(self, cores: int, lock: threading.RLock) -> None:
        self.free = cores
        self.freed = threading.Condition(lock)

    def give_back(self) -> None:
        with self.freed:
            self.free += 1
            self.freed.notify()

    def __enter__(self) -> None:
        """Around the run of a file never seen: wait for a slot."""
        with self.freed:
            while self.free <= 0:
                self.freed.wait()
            self.free -= 1

    def __exit__(self, *exc: object) -> None:
        self.give_back()


def _held(outcome: FileOutcome | None) -> int:
    return len(outcome.run.output) if outcome is not None and outcome.run is not None else 0
