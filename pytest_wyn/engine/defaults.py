"""The settings' defaults and how their values are read (numbers, sizes, booleans, CPUs).

What the settings table needs in every pytest run, Wyn tests or not: nothing
here builds a class at import, so a session without Wyn tests pays little for
it. ``Settings``, the session's values, is in ``settings.py``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import UsageError

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
