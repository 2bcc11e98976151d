"""Golden-C snapshot tests as pytest items: ``NAME.wyn`` beside ``NAME.c.golden`` (engine/golden.py).

Only the C is generated (no C compile, no binary); a difference fails with a
bounded unified diff naming the snapshot and its first differing line;
``--wyn-update`` rewrites the snapshot under the rules that guard EXPECT lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from .compat import TerminalRepr
from .engine import (
    Engine,
    NoCompilerFound,
    UpdateRefused,
    compare_golden,
    file_stem,
    sha256_bytes,
    snapshot_of,
    writable_target,
    write_in_place,
)
from .items import may_skip


class SnapshotDiffers(AssertionError):
    """The generated C is not the snapshot (or could not be generated): the text says how."""

    def __init__(self, message: str, details: list[str], where: tuple[Path, int] | None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.where = where


class WynSnapshotFile(pytest.File):
    """``NAME.wyn`` beside ``NAME.c.golden``: one golden-C item."""

    def __init__(self, *, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine  # the session's, handed in by the plugin object that collects the file

    def collect(self) -> Iterable[pytest.Item]:
        yield WynSnapshotItem.from_parent(self, name=file_stem(self.path.name))


class WynSnapshotItem(pytest.Item):
    """One golden-C comparison, run in its own turn (never ahead: generating C takes milliseconds)."""

    parent: WynSnapshotFile
    wyn_update: str = ""

    def setup(self) -> None:
        self.add_marker(pytest.mark.wyn)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, 0, f"{self.name} (golden C)"

    def runtest(self) -> None:
        self.wyn_update = ""
        engine = self.parent.engine
        snapshot = snapshot_of(self.path)
        if snapshot is None:
            raise SnapshotDiffers(f"{self.path.name[:-4]}.c.golden is gone since collection", [], None)
        shown = os.path.relpath(snapshot, self.config.rootpath)
        try:
            builder = engine.require_builder()
        except NoCompilerFound as exc:
            raise SnapshotDiffers(str(exc).splitlines()[0], str(exc).splitlines()[1:], None) from None
        settings = engine.settings
        made = builder.generate_c(self.path)
        if made.c is None:
            raise SnapshotDiffers(made.problem, [f"    {ln}" for ln in made.diagnostics.splitlines()], None)
        old = snapshot.read_bytes()
        result = compare_golden(made.c, old, shown)
        if result.same:
            return
        if settings.update is not None and not may_skip(self) and self.get_closest_marker("xfail") is None:
            try:
                target = writable_target(snapshot)
                write_in_place(target, made.c, sha256_bytes(old))
            except (UpdateRefused, OSError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                message = f"the generated C differs from {shown} at line {result.first_line}"
                raise SnapshotDiffers(
                    message, [*result.diff, "", f"not updated by --wyn-update: {why}"], (snapshot, result.first_line)
                ) from None
            self.wyn_update = "\n".join(result.diff) + "\n"
            return
        raise SnapshotDiffers(
            f"the generated C differs from {shown} at line {result.first_line}",
            [*result.diff, "", f"(if the change is intended: pytest --wyn-update {os.path.relpath(self.path)})"],
            (snapshot, result.first_line),
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        exc = excinfo.value
        if isinstance(exc, SnapshotDiffers):
            lines = [exc.message]
            if exc.details:
                lines += ["", *exc.details]
            if exc.where is not None:
                path, line = exc.where
                lines += ["", f"{os.path.relpath(path, self.config.rootpath)}:{line}: {exc.message}"]
            return "\n".join(lines)
        return super().repr_failure(excinfo, style)
