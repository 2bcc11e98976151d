"""Every setting's value for one session, as plain data; its defaults; sizes and CPUs.

The pytest side (``options.py``) reads them from the command line, the
environment and the ini file; the engine only ever sees this dataclass.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import UsageError
from .remote.config import RemoteConfig

UpdateMode = Literal["expect", "all"]  # EXPECT lines that fail; and a passing program test's output

DEFAULT_FILES = ["test_*.wyn", "*_test.wyn"]
DEFAULT_TIMEOUT = 30.0
DEFAULT_COMPILE_TIMEOUT = 600.0
DEFAULT_WORKERS = 12
DEFAULT_CACHE_SIZE = "4GiB"
DEFAULT_OUTPUT_LIMIT = 4 << 20
DEFAULT_RETRIES = 3
DEFAULT_MEMORY_LIMIT = "4GiB"
MAX_SECONDS = 7 * 86400.0  # the longest timeout a setting or directive may name


def user_cache_root() -> Path:
    """pytest-wyn's folder in the user's cache folder (platformdirs): the compile cache and the build locks."""
    import platformdirs  # here: a session without Wyn tests reads the settings table, never this

    return Path(platformdirs.user_cache_dir("pytest-wyn"))


def default_compile_jobs() -> int:
    """Compiles at once, machine-wide, unless wyn_compile_jobs says: one per usable CPU."""
    return usable_cpus()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as taskset or a cgroup cpuset sets it),
    not the machine's count: binaries packed beyond them would time out from contention."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        try:
            return max(len(getaffinity(0)), 1)
        except OSError:
            pass
    return os.cpu_count() or 1


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


class SettingError(UsageError, ValueError):
    """A setting's value cannot be used: the message names the setting and what it accepts."""


BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
BOOL_ACCEPTED = "1/0, true/false, yes/no or on/off"


def parse_bool(name: str, text: str) -> bool:
    """Every boolean setting, from every source, read the same way (any case)."""
    word = text.strip().lower()
    if word not in BOOL_WORDS:
        raise SettingError(f"{name} must be {BOOL_ACCEPTED}, not {text!r}")
    return BOOL_WORDS[word]


def parse_number(
    name: str, text: str, low: float, high: float, whole: bool = False, low_included: bool = False
) -> float:
    """A finite number within (low, high] (or [low, high]); ``whole``: an integer. SettingError otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name} must be a number, not {text!r}") from None
    shown = f"[{low:g}, {high:g}]" if low_included else f"({low:g}, {high:g}]"
    if not math.isfinite(value) or value > high or value < low or (value == low and not low_included):
        raise SettingError(f"{name} must be a finite number in {shown}, not {text!r}")
    if whole and value != int(value):
        raise SettingError(f"{name} must be a whole number in {shown}, not {text!r}")
    return value


MAX_SIZE = 1 << 60  # an exbibyte: larger is a typo


def parse_size(text: str) -> int:
    units = {
        "": 1,
        "b": 1,
        "k": 1 << 10,
        "kb": 1000,
        "kib": 1 << 10,
        "m": 1 << 20,
        "mb": 1000**2,
        "mib": 1 << 20,
        "g": 1 << 30,
        "gb": 1000**3,
        "gib": 1 << 30,
        "t": 1 << 40,
        "tb": 1000**4,
        "tib": 1 << 40,
    }
    s = text.strip().lower().replace(" ", "")
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num) :]
    try:
        value = float(num) * units[unit] if unit in units and num else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_SIZE:
        raise SettingError(f"not a size: {text!r} (use e.g. 2GiB, 500MB; at most 1EiB)")
    return int(value)
