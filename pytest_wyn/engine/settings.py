"""Every setting's value for one session, as plain data (its defaults and parsers: ``defaults.py``).

The pytest side (``options.py``) reads them from the command line, the
environment and the ini file; the engine only ever sees this dataclass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .defaults import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_COMPILE_TIMEOUT,
    DEFAULT_FILES,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    default_compile_jobs,
    parse_size,
)
from .remote.config import RemoteConfig

UpdateMode = Literal["expect", "all"]  # EXPECT lines that fail; and a passing program test's output


@dataclass(frozen=True)
class Settings:
    files: tuple[str, ...]
    compiler_option: str | None
    compiler_ini: str | None
    compiler_env: str | None
    compile_command: str
    compile_output: str | None
    compile_args: tuple[str, ...]
    timeout: float
    compile_timeout: float
    compile_retries: int
    cache_dir: Path
    use_cache: bool
    clear_cache: bool
    cache_max_size: int
    max_output: int
    workers: int | Literal["auto"]  # the most workers the cost model may start ("auto": the CPUs)
    compile_jobs: int
    memory_limit: int | None  # bytes of address space per test binary; None: unlimited
    memory_limit_set: bool  # named by the user (not the default): worth a word where it cannot apply
    update: UpdateMode | None  # --wyn-update
    run_ahead: bool  # without workers, run upcoming files' binaries ahead, concurrently
    keep_binaries: Path | None = None  # --wyn-keep-binaries: where each test binary is kept
    remote: RemoteConfig | None = None  # the shared cache tier, when one is named and not switched off
    c_cache: bool = True  # the second level: generated C -> binary (with the compile cache only)
    c_cache_dir: Path | None = None  # where it lives; None: `c/` in the compile cache
    known_failures: tuple[tuple[str, str, str], ...] = ()  # (file name, the list naming it, kind): xfail

    @classmethod
    def defaults(cls, cache_dir: Path, **changes: object) -> Settings:
        """Every setting at its default (for programs that drive the modules without pytest)."""
        base = cls(
            files=tuple(DEFAULT_FILES),
            compiler_option=None,
            compiler_ini=None,
            compiler_env=None,
            compile_command="",
            compile_output=None,
            compile_args=(),
            timeout=DEFAULT_TIMEOUT,
            compile_timeout=DEFAULT_COMPILE_TIMEOUT,
            compile_retries=DEFAULT_RETRIES,
            cache_dir=cache_dir,
            use_cache=True,
            clear_cache=False,
            cache_max_size=parse_size(DEFAULT_CACHE_SIZE),
            max_output=DEFAULT_OUTPUT_LIMIT,
            workers=DEFAULT_WORKERS,
            compile_jobs=default_compile_jobs(),
            memory_limit=parse_size(DEFAULT_MEMORY_LIMIT),
            memory_limit_set=False,
            update=None,
            run_ahead=True,
        )
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def to_wire(self) -> dict[str, Any]:
        """As plain data, for an xdist worker (execnet sends only built-in types)."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        for name in _PATHS:
            data[name] = str(data[name]) if data[name] is not None else None
        data["remote"] = self.remote.to_wire() if self.remote is not None else None
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Settings:
        values = dict(data)
        for name in _PATHS:
            values[name] = Path(values[name]) if values[name] is not None else None
        for name in ("files", "compile_args"):
            values[name] = tuple(values[name])
        values["known_failures"] = tuple(tuple(row) for row in values["known_failures"])
        values["remote"] = RemoteConfig.from_wire(values["remote"]) if values["remote"] is not None else None
        return cls(**values)


_PATHS = ("cache_dir", "keep_binaries", "c_cache_dir")
