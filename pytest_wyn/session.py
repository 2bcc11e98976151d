"""Per-session state, kept in ``config.stash``: settings, toolchain, store, builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .build import Builder
from .cache import Store
from .settings import Settings
from .toolchain import CompileCommand, Toolchain


@dataclass
class WynSession:
    settings: Settings
    rootdir: Path
    toolchain: Toolchain | None = None
    command: CompileCommand | None = None
    store: Store | None = None
    store_ok: bool = False
    cache_problem: str = ""
    lock_dir: Path | None = None
    lock_problem: str = ""
    order: dict[str, list[float]] = field(default_factory=dict)  # file nodeid -> scheduling priority
    _builder: Builder | None = None

    def builder(self) -> Builder:
        if self._builder is None:
            if self.toolchain is None or self.command is None:
                raise pytest.UsageError("pytest-wyn: no Wyn toolchain was loaded for this session")
            self._builder = Builder(
                self.toolchain,
                self.command,
                self.rootdir,
                self.store if self.store_ok else None,
                self.settings.compile_timeout,
                self.settings.compile_retries,
                self.settings.max_output,
                self.settings.compile_jobs,
                self.lock_dir,
            )
        return self._builder

    @property
    def started_builder(self) -> Builder | None:
        return self._builder


SESSION_KEY = pytest.StashKey[WynSession]()


def get_session(config: pytest.Config) -> WynSession:
    return config.stash[SESSION_KEY]
