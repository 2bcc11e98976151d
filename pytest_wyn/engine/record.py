"""The scheduling record: what each file cost last time, kept in pytest's cache.

One owner, as pytest's NFPlugin owns its key: items note what their file cost
(by file nodeid), workers send their notes to the controller, the controller
saves them once. The record only orders work and sizes pools; it never decides
a verdict, so a stale or damaged record costs time, never correctness.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .openflags import CLOEXEC
from .process import pid_alive

RECORD_KEY = "wyn/files"
DEFAULT_COMPILE_SECONDS = 1.3  # Wyn v1.20.0 on 2 cores, for a file never compiled here
DEFAULT_RUN_SECONDS = 0.05
CPU_BOUND_SECONDS = 0.02  # less CPU than this in a run never counts against the cores


@dataclass(frozen=True)
class FileCosts:
    compile_seconds: float  # what compiling took (recorded on a cache hit too)
    mtime_ns: int  # the source as it was then: a change means a likely cache miss
    size: int
    run_seconds: float = DEFAULT_RUN_SECONDS  # wall time of the binary's run
    run_cpu: float = 0.0  # CPU time of the run: near run_seconds for a CPU-bound test

    @property
    def cpu_bound(self) -> bool:
        """Its run computed enough to matter: a tenth of its wall time or more, since runs that
        shared the cores with others took longer than the CPU they used."""
        return self.run_cpu >= max(CPU_BOUND_SECONDS, 0.1 * self.run_seconds)

    def changed(self, root: Path, nodeid: str) -> bool:
        """Whether the file differs from when this was recorded (or is gone)."""
        try:
            st = (root / nodeid).stat()
        except OSError:
            return True
        return st.st_mtime_ns != self.mtime_ns or st.st_size != self.size

    @classmethod
    def from_json(cls, data: Any) -> FileCosts | None:
        try:
            if isinstance(data, list):  # the first version's layout: [compile s, mtime_ns, size]
                return cls(float(data[0]), int(data[1]), int(data[2]))
            return cls(**{k: type(getattr(_ZERO, k))(v) for k, v in data.items() if hasattr(_ZERO, k)})
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return None


_ZERO = FileCosts(0.0, 0, 0)


class Record:
    """The per-file costs of earlier sessions, and this session's notes."""

    def __init__(self, saved: Any) -> None:
        self.files: dict[str, FileCosts] = {}
        if isinstance(saved, dict):
            for nodeid, data in saved.items():
                costs = FileCosts.from_json(data)
                if costs is not None:
                    self.files[str(nodeid)] = costs
        self.notes: dict[str, FileCosts] = {}

    @classmethod
    def load(cls, cache: Any) -> Record:
        return cls(cache.get(RECORD_KEY, {}) if cache is not None else {})

    @classmethod
    def read_early(cls, config: Any) -> Record:
        """The saved record before pytest's cache plugin is configured (for the worker decision)."""
        return cls(_read_early(config, RECORD_KEY))

    def note(self, nodeid: str, costs: FileCosts) -> None:
        self.notes[nodeid] = costs

    def serialized_notes(self) -> dict[str, dict[str, float]]:
        return {nodeid: asdict(costs) for nodeid, costs in self.notes.items()}

    def merge_notes(self, data: Any) -> None:
        """Notes sent by a worker (``serialized_notes`` of its record)."""
        if isinstance(data, dict):
            for nodeid, costs in data.items():
                parsed = FileCosts.from_json(costs)
                if parsed is not None:
                    self.notes[str(nodeid)] = parsed

    def save(self, cache: Any) -> None:
        if not self.notes or cache is None:
            return
        merged = {**self.files, **self.notes}
        cache.set(RECORD_KEY, {nodeid: asdict(costs) for nodeid, costs in merged.items()})

    def priorities(self, root: Path) -> dict[str, tuple[float, float]]:
        """Per file nodeid: (predicted compile seconds, 1.0 if probably a cache miss else 0.0)."""
        return {
            nodeid: (costs.compile_seconds, 1.0 if costs.changed(root, nodeid) else 0.0)
            for nodeid, costs in self.files.items()
        }


WORKERS_KEY = "wyn/workers"


def read_worker_startup(config: Any) -> float | None:
    """CPU seconds one xdist worker took to start here last time (read before workers start), if known."""
    data = _read_early(config, WORKERS_KEY)
    value = data.get("startup_cpu") if isinstance(data, dict) else None
    if isinstance(value, (int, float)) and 0.0 < value < 600.0:
        return float(value)
    return None


def save_worker_startup(cache: Any, seconds: list[float]) -> None:
    """What this session's workers took to start (their mean): the next worker decision uses it."""
    if cache is not None and seconds:
        cache.set(WORKERS_KEY, {"startup_cpu": round(sum(seconds) / len(seconds), 3)})


def _read_early(config: Any, key: str) -> Any:
    """A value of pytest's cache before its plugin is configured (pytest_cmdline_main)."""
    try:
        cache_dir = Path(config.getini("cache_dir"))
        path = (config.rootpath / cache_dir if not cache_dir.is_absolute() else cache_dir) / "v" / key
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


IN_FLIGHT_DIR = "wyn-in-flight"  # pytest's cache.mkdir(): .pytest_cache/d/wyn-in-flight/PID.log


class InFlight:
    """Which files this process is building or running, in a log kept in pytest's cache dir.

    A test binary that kills pytest itself leaves nothing to report it; the next
    session reads the log and says which files were running when it happened.
    One appended line per start and end (a single write each, cheap enough for
    every file of a warm run); one log per process, so that sessions running
    side by side in one project keep theirs apart; removed when the session
    ends normally.
    """

    def __init__(self, cache: Any) -> None:
        self.dir: Path | None = None
        self.fd = -1
        self.lock = threading.Lock()
        if cache is None:
            return
        try:
            self.dir = Path(cache.mkdir(IN_FLIGHT_DIR))
        except OSError:
            self.dir = None

    def left_over(self) -> list[str]:
        """What sessions that died left in flight (their logs are then removed); opens this one's."""
        if self.dir is None:
            return []
        died: dict[str, None] = {}
        for log in sorted(self.dir.glob("*.log")):
            pid = log.stem
            if not pid.isdigit() or int(pid) == os.getpid() or pid_alive(int(pid)):
                continue
            try:
                died.update(dict.fromkeys(_unfinished(log.read_text(encoding="utf-8", errors="replace"))))
                log.unlink()
            except OSError:
                continue
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | CLOEXEC
            self.fd = os.open(self.dir / f"{os.getpid()}.log", flags, 0o600)
        except OSError:
            self.fd = -1
        return list(died)

    def started(self, nodeid: str) -> None:
        self._log("+", nodeid)

    def finished(self, nodeid: str) -> None:
        self._log("-", nodeid)

    def close(self) -> None:
        with self.lock:
            if self.fd < 0 or self.dir is None:
                return
            os.close(self.fd)
            self.fd = -1
            try:
                (self.dir / f"{os.getpid()}.log").unlink()
            except OSError:
                pass

    def _log(self, sign: str, nodeid: str) -> None:
        line = f"{sign}{json.dumps(nodeid)}\n".encode()
        with self.lock:  # never a write to a descriptor close() just gave back
            if self.fd < 0:
                return
            try:
                os.write(self.fd, line)  # O_APPEND: one line, whole
            except OSError:
                pass


def _unfinished(text: str) -> list[str]:
    """The files a log says were started and not finished."""
    running: dict[str, None] = {}
    for line in text.splitlines():
        try:
            nodeid = json.loads(line[1:])
        except ValueError:
            continue  # a line cut by the crash
        if line.startswith("+"):
            running[str(nodeid)] = None
        elif line.startswith("-"):
            running.pop(str(nodeid), None)
    return list(running)
