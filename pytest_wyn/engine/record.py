"""The scheduling record: what each file cost last time, and what a worker took to start.

One owner, as pytest's NFPlugin owns its key: items note what their file cost
(by file nodeid), workers send their notes to the controller, the controller
saves them once. The record only orders work and sizes pools; it never decides
a verdict, so a stale or damaged record costs time, never correctness. It is
kept in a ``KeyValue`` store: pytest's cache (``config.cache``), or before that
is configured, ``compat.EarlyCache`` over the same files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

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


class KeyValue(Protocol):
    """Where the record is kept: pytest's ``Cache`` is one (its ``get`` and ``set`` of JSON values)."""

    def get(self, key: str, default: Any) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


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
    def load(cls, cache: KeyValue | None) -> Record:
        return cls(cache.get(RECORD_KEY, {}) if cache is not None else {})

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

    def save(self, cache: KeyValue | None) -> None:
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


def read_worker_startup(cache: KeyValue) -> float | None:
    """CPU seconds one xdist worker took to start here last time (read before workers start), if known."""
    data = cache.get(WORKERS_KEY, {})
    value = data.get("startup_cpu") if isinstance(data, dict) else None
    if isinstance(value, (int, float)) and 0.0 < value < 600.0:
        return float(value)
    return None


def save_worker_startup(cache: KeyValue | None, seconds: list[float]) -> None:
    """What this session's workers took to start (their mean): the next worker decision uses it."""
    if cache is not None and seconds:
        cache.set(WORKERS_KEY, {"startup_cpu": round(sum(seconds) / len(seconds), 3)})
