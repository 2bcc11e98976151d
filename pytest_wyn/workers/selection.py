"""Which Wyn items a command line selects, known before collection (for the worker forecast only).

Mirrors what pytest itself does with ``-k``, ``-m`` and ``--deselect`` on the
items a file will become. Selection by other plugins (pytest-split, ``--lf``,
a conftest's ``pytest_collection_modifyitems``) cannot be known here: the
forecast then counts the file, and the worst case is a worker too many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ..compat import compile_expression
from ..engine.spec import Spec
from ..engine.testfile import planned_tests

Matcher = Callable[[set[str]], bool]


@dataclass(frozen=True)
class Selection:
    keyword: Matcher | None  # -k, over an item's names
    marker: Matcher | None  # -m, over its marker names
    deselect: tuple[str, ...]  # --deselect node id prefixes

    @property
    def everything(self) -> bool:
        return self.keyword is None and self.marker is None and not self.deselect

    @classmethod
    def from_config(cls, config: pytest.Config) -> Selection:
        return cls(
            _compile(config.getoption("keyword", "") or "", substring=True),
            _compile(config.getoption("markexpr", "") or "", substring=False),
            tuple(config.getoption("deselect") or ()),
        )

    def selects_any(self, file_nodeid: str, spec: Spec) -> bool:
        """Whether any item of the file (nodeid = its path from the rootdir) is selected."""
        return any(self._selects(nodeid, names, markers) for nodeid, names, markers in _items(file_nodeid, spec))

    def _selects(self, nodeid: str, names: set[str], markers: set[str]) -> bool:
        if self.deselect and nodeid.startswith(self.deselect):
            return False
        if self.keyword is not None and not self.keyword(names | markers):
            return False
        return self.marker is None or self.marker(markers)


def _compile(text: str, *, substring: bool) -> Matcher | None:
    if not text.strip():
        return None
    evaluate = compile_expression(text)
    if evaluate is None:
        return None  # pytest reports a bad expression itself; the forecast just counts everything

    def matches(names: set[str]) -> bool:
        def one(name: str, /, **_: object) -> bool:
            if substring:
                return any(name.lower() in n.lower() for n in names)
            return name in names

        return evaluate(one)

    return matches


def _items(file_nodeid: str, spec: Spec) -> list[tuple[str, set[str], set[str]]]:
    file_names = {p for p in file_nodeid.split("/") if p}
    return [
        (
            f"{file_nodeid}::{test.name}",
            {test.name, *file_names},
            _markers(spec, test.index if test.kind == "block" else None),
        )
        for test in planned_tests(spec, file_nodeid)
    ]


def _markers(spec: Spec, block_index: int | None) -> set[str]:
    found = {"wyn"}
    for d in spec.directives_for(block_index):
        if d.key == "MARK":
            found.add(d.value.strip())
        elif d.key in ("SKIP", "XFAIL"):
            found.add(d.key.lower() if d.key == "XFAIL" else "skip")
    return found


def skipped_whole(spec: Spec) -> bool:
    """A file-level SKIP: every item of the file is skipped, nothing is compiled."""
    return any(d.key == "SKIP" for d in spec.directives_for(None))
