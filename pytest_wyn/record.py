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

from .process import pid_alive

RECORD_KEY = "wyn/files"
DEFAULT_COMPILE_SECONDS = 1.3  # Wyn v1.20.0 on 2 cores, for a file never compiled here
DEFAULT_RUN_SECONDS = 0.05


@dataclass(frozen=True)
class FileCosts:
    compile_seconds: float  # what compiling took (recorded on a cache hit too)
    mtime_ns: int  # the source as it was then: a change means a likely cache miss
    size: int
    run_seconds: float = DEFAULT_RUN_SECONDS  # wall time of the binary's run
    run_cpu: float = 0.0  # CPU time of the run: near run_seconds for a CPU-bound test

    @property
    def cpu_bound(self) -> bool:
        return self.run_cpu >= 0.5 * self.run_seconds

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
        try:
            cache_dir = Path(config.getini("cache_dir"))
            path = (config.rootpath / cache_dir if not cache_dir.is_absolute() else cache_dir) / "v" / RECORD_KEY
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return cls({})

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


IN_FLIGHT_KEY = "wyn/in-flight"


class InFlight:
    """Which files this process is building or running, kept in pytest's cache while they are.

    A test binary that kills pytest itself leaves nothing to report it; the next
    session finds this note and says which files were running when it happened.
    """

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.files: dict[str, None] = {}
        self.lock = threading.Lock()

    def left_over(self) -> list[str]:
        """What a session that died left in flight (read before this session writes)."""
        data = self.cache.get(IN_FLIGHT_KEY, None) if self.cache is not None else None
        pid = data.get("pid") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(pid, int) or pid == os.getpid() or pid_alive(pid):
            return []
        return [str(f) for f in data.get("files", [])]

    def started(self, nodeid: str) -> None:
        with self.lock:
            self.files[nodeid] = None
            self._write()

    def finished(self, nodeid: str) -> None:
        with self.lock:
            self.files.pop(nodeid, None)
            self._write()

    def close(self) -> None:
        with self.lock:
            self.files.clear()
            if self.cache is not None:
                self.cache.set(IN_FLIGHT_KEY, {})

    def _write(self) -> None:
        if self.cache is not None:
            self.cache.set(IN_FLIGHT_KEY, {"pid": os.getpid(), "files": list(self.files)})

