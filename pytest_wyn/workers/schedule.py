"""The xdist scheduler used when pytest-wyn chose the distribution (the user gave no ``--dist``).

A `.wyn` file's items stay together (one compile, one run of its binary),
every other test is a unit of its own, as ``--dist load`` would make it, so a
mixed suite's Python tests spread exactly as without the plugin. Files likely
to compile go first (they are slow); a file whose binary kills its worker is
reported once, as crashed, and never sent to another worker.
Loaded only on the controller, and only when xdist is there.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

from ..engine import is_wyn_file


def wyn_file_of(nodeid: str) -> str | None:
    """The file part of a Wyn item's nodeid, or None for any other test."""
    path = nodeid.split("::", 1)[0]
    return path if is_wyn_file(path) else None


class WynScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """LoadScopeScheduling whose scope is the `.wyn` file, or the single test for anything else."""

    def __init__(self, config: pytest.Config, log: Any, priorities: dict[str, tuple[float, float]]) -> None:
        super().__init__(config, log)
        self.priorities = priorities
        self._sorted = False

    def _split_scope(self, nodeid: str) -> str:
        return wyn_file_of(nodeid) or nodeid

    def _assign_work_unit(self, node: Any) -> None:
        if not self._sorted:
            self._sorted = True
            self._sort_workqueue()
        super()._assign_work_unit(node)

    def _sort_workqueue(self) -> None:
        """Wyn files likely to compile first, longest recorded compile first; the rest in collection order."""
        position = {nodeid: i for i, nodeid in enumerate(self.collection or [])}
        known = [p[0] for p in self.priorities.values()]
        unknown_cost = max(known) if known else 1.0

        def rank(item: tuple[str, dict[str, bool]]) -> tuple[float, float, int]:
            scope, unit = item
            first = position.get(next(iter(unit)), 0)
            if wyn_file_of(scope) is None:
                return (0.0, 0.0, first)
            seconds, miss = self.priorities.get(scope, (unknown_cost, 1.0))
            return (-miss, -seconds, first)

        units = sorted(self.workqueue.items(), key=rank)
        self.workqueue.clear()
        self.workqueue.update(units)

    def remove_node(self, node: Any) -> str | None:
        """As LoadScopeScheduling, but the crashed test (and a crashed Wyn file) never runs again.

        xdist re-queues the crashed item with its scope, so a binary that kills
        its worker would kill every replacement too.
        """
        workload: dict[str, dict[str, bool]] = self.assigned_work.pop(node)
        pending = (nodeid for unit in workload.values() for nodeid, done in unit.items() if not done)
        crashitem: str | None = next(pending, None)
        if crashitem is None:
            return None
        unit = workload[self._split_scope(crashitem)]
        unit[crashitem] = True  # xdist reports it as crashed
        if wyn_file_of(crashitem) is not None:
            for nodeid, done in unit.items():
                if not done:
                    unit[nodeid] = True
                    self._report_not_run(nodeid, crashitem, node)
        for scope, work in workload.items():
            if not all(work.values()):
                self.workqueue[scope] = work
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem

    def _report_not_run(self, nodeid: str, crashitem: str, node: Any) -> None:
        path = nodeid.split("::", 1)[0]
        report = pytest.TestReport(
            nodeid=nodeid,
            location=(path, None, nodeid.split("::", 1)[-1]),
            keywords={},
            outcome="failed",
            longrepr=(
                f"not run: worker {node.gateway.id!r} crashed while running {crashitem!r}, which runs the same "
                "test binary; the file is not sent to another worker"
            ),
            when="call",
        )
        report.node = node  # type: ignore[attr-defined]
        self.config.hook.pytest_runtest_logreport(report=report)
