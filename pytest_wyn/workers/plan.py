"""How many xdist workers to start: the count whose predicted wall time is least.

Pure arithmetic over what the record says each file cost last time. Compiles
and CPU-bound runs share the cores; sleeping runs overlap; every worker costs
CPU to start and to collect. Without workers, the plugin runs binaries ahead
in one process (engine/runahead.py), which overlaps the same work without that cost,
so a suite of Wyn files alone rarely needs workers; a user's own ``-n`` always
wins over this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..engine import DEFAULT_COMPILE_SECONDS, DEFAULT_RUN_SECONDS, LANES_PER_CORE, FileCosts

DEFAULT_WORKER_STARTUP = 0.8  # CPU seconds to start one xdist worker, until one has started here (engine/record.py)
COLLECT_PER_FILE = 0.002  # every worker collects every file again
PER_FILE_OVERHEAD = 0.005  # pytest's and the plugin's work per file in the process that runs it (measured)
CONTROLLER_PER_ITEM = 0.001  # the xdist controller receives and reports every item


@dataclass(frozen=True)
class Work:
    compile_cpu: float  # seconds of compiling (CPU-bound) the run will need
    run_cpu: float  # CPU seconds of the binaries' runs
    run_wall: float  # wall seconds of the runs, one after another
    longest: float  # the longest single compile or run: nothing finishes before it
    files: int


def work_of(files: Iterable[str], misses: set[str], record: dict[str, FileCosts]) -> Work:
    compile_cpu = run_cpu = run_wall = longest = 0.0
    count = 0
    for nodeid in files:
        count += 1
        costs = record.get(nodeid)
        compiling = costs.compile_seconds if costs is not None else DEFAULT_COMPILE_SECONDS
        wall = costs.run_seconds if costs is not None else DEFAULT_RUN_SECONDS
        cpu = costs.run_cpu if costs is not None else wall
        if nodeid in misses:
            compile_cpu += compiling
            longest = max(longest, compiling + wall)
        run_cpu += cpu
        run_wall += wall
        longest = max(longest, wall)
    return Work(compile_cpu, run_cpu, run_wall, longest, count)


def predicted_seconds(work: Work, workers: int, cores: int, run_ahead: bool, startup: float) -> float:
    """Wall seconds of the run with ``workers`` xdist workers (0: one process)."""
    cpu = work.compile_cpu + work.run_cpu
    if workers == 0:
        if not run_ahead:
            return work.compile_cpu + work.run_wall + PER_FILE_OVERHEAD * work.files
        lanes = LANES_PER_CORE * cores  # the run-ahead pool: sleeping runs overlap beyond the cores
        return max(cpu / cores, work.run_wall / lanes, work.longest) + PER_FILE_OVERHEAD * work.files
    # Workers start at once and share the cores while they start and collect.
    spin_up = (startup + COLLECT_PER_FILE * work.files) * workers / cores
    overhead = PER_FILE_OVERHEAD * work.files / min(workers, cores) + CONTROLLER_PER_ITEM * work.files
    return spin_up + overhead + max(cpu / min(workers, cores), work.run_wall / workers, work.longest)


def plan_workers(work: Work, cores: int, ceiling: int, run_ahead: bool, startup: float) -> int:
    """The worker count (0 or 2..ceiling) with the least predicted wall time; ties go to fewer."""
    best, best_seconds = 0, predicted_seconds(work, 0, cores, run_ahead, startup)
    for workers in range(2, max(ceiling, 0) + 1):
        seconds = predicted_seconds(work, workers, cores, run_ahead, startup)
        if seconds < best_seconds * 0.97:  # a worker must pay for itself clearly
            best, best_seconds = workers, seconds
    return best
