"""Which Wyn items a command line selects, known before collection (for the worker forecast only).

Mirrors what pytest itself does with ``-k``, ``-m`` and ``--deselect`` on the
items a file will become. Selection by other plugins (pytest-split, ``--lf``,
a conftest's ``pytest_collection_modifyitems``) cannot be known here: the
forecast then counts the file, and the worst case is a worker too many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from ..compat import compile_expression
from ..engine import Spec, marks_of, planned_tests

Matcher = Callable[[set[str]], bool]


@dataclass(frozen=True)
class Selection:
    keyword: Matcher | None  # -k, over an item's names
    marker: Matcher | None  # -m, over its marker names
    deselect: tuple[str, ...]  # --deselect node id prefixes
    known_failures: tuple[tuple[str, str, str], ...] = ()  # wyn_known_failures: their xfail marker counts for -m

    @property
    def everything(self) -> bool:
        return self.keyword is None and self.marker is None and not self.deselect

    @classmethod
    def from_config(cls, config: pytest.Config, known_failures: tuple[tuple[str, str, str], ...] = ()) -> Selection:
        return cls(
            _compile(config.getoption("keyword", "") or "", substring=True),
            _compile(config.getoption("markexpr", "") or "", substring=False),
            tuple(config.getoption("deselect") or ()),
            known_failures,
        )

    def selects_any(self, file_nodeid: str, spec: Spec) -> bool:
        """Whether any item of the file (nodeid = its path from the rootdir) is selected."""
        return any(
            self._selects(nodeid, names, markers)
            for nodeid, names, markers in _items(file_nodeid, spec, self.known_failures)
        )

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


def _items(
    file_nodeid: str, spec: Spec, known: Sequence[tuple[str, str, str]] = ()
) -> list[tuple[str, set[str], set[str]]]:
    file_names = {p for p in file_nodeid.split("/") if p}
    file_name = file_nodeid.rsplit("/", 1)[-1]
    return [
        (
            f"{file_nodeid}::{test.name}",
            {test.name, *file_names},
            {mark.name for mark in marks_of(spec, test.kind, test.index, file_name, known)},
        )
        for test in planned_tests(spec, file_nodeid)
    ]
