"""How each setting's given text becomes its value: one parser per kind of value, named in its table row.

A parser takes the setting's name (for the message), what its sources gave
by the row's combining rule (``options.sources``: the first given text or
None; the concatenated values; every source's say; the sources kept apart),
and the rootdir (paths in settings are relative to it). It returns the value
or raises ``SettingError`` naming the setting and what it accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import engine
from .engine import (
    BOOL_ACCEPTED,
    BOOL_WORDS,
    DEFAULT_FILES,
    DEFAULT_WORKERS,
    MAX_SECONDS,
    SCHEMES,
    SettingError,
    parse_bool,
    parse_number,
    parse_size,
    redact,
    scheme_of,
    user_cache_root,
    with_lower_scheme,
)

if TYPE_CHECKING:
    from .engine import UpdateMode

Parser = Callable[[str, Any, Path], Any]


def text(name: str, given: str | None, root: Path) -> str:
    return given or ""


def text_or_none(name: str, given: str | None, root: Path) -> str | None:
    return given or None


def flag(default: bool) -> Parser:
    """A boolean: every source's words read one way (any case); unset or blank: ``default``."""

    def parse(name: str, given: str | None, root: Path) -> bool:
        return default if given is None or not given.strip() else parse_bool(name, given)

    return parse


def switched_off(name: str, given: str | None, root: Path) -> bool:
    """A switch that turns something off (``--wyn-no-cache``): the value is whether it stays on."""
    return not flag(False)(name, given, root)


def all_allow(name: str, given: Sequence[tuple[str, str | None]], root: Path) -> bool:
    """On unless one source says no: ``given`` is each source's name and word (``combine="all_allow"``)."""
    return all(flag(True)(source, word, root) for source, word in given)


def number(
    default: float | Callable[[], float],
    low: float = 0.0,
    high: float = MAX_SECONDS,
    whole: bool = False,
    low_included: bool = False,
) -> Parser:
    """Finite and in (low, high] (or [low, high]); unset: ``default`` (called, when it is a function)."""

    def parse(name: str, given: str | None, root: Path) -> float:
        if given is None:
            return default() if callable(default) else default
        return parse_number(name, given, low, high, whole, low_included)

    return parse


def whole(default: int | Callable[[], int], low: float, high: float, low_included: bool = False) -> Parser:
    """A whole number, as ``number``."""
    parse_any = number(default, low, high, True, low_included)

    def parse(name: str, given: str | None, root: Path) -> int:
        return int(parse_any(name, given, root))

    return parse


def size(default: str, at_least: int = 0) -> Parser:
    """Bytes (``4GiB``, ``500MB``), at least ``at_least``; the message names the setting."""

    def parse(name: str, given: str | None, root: Path) -> int:
        try:
            return max(parse_size(given or default), at_least)
        except SettingError as exc:
            raise SettingError(f"{name}: {exc}") from None

    return parse


def memory_limit(default: str) -> Parser:
    """Bytes of address space, or ``none``; with whether the user named it (a word where it cannot apply)."""

    def parse(name: str, given: str | None, root: Path) -> tuple[int | None, bool]:
        chosen = given or default
        if chosen.strip().lower() in ("none", "0", "off"):
            return None, given is not None
        return size(default)(name, chosen, root), given is not None

    return parse


def words(name: str, given: str | list[str] | None, root: Path) -> tuple[str, ...]:
    """Space-separated words (the option), or the ini's list; unset: the default file patterns."""
    if given is None:
        return tuple(DEFAULT_FILES)
    return tuple(given.split()) if isinstance(given, str) else tuple(str(word) for word in given)


def args(name: str, given: list[str], root: Path) -> tuple[str, ...]:
    return tuple(given)


def lines(name: str, given: list[str], root: Path) -> tuple[str, ...]:
    """Non-blank lines."""
    return tuple(line for line in given if line.strip())


def apart(name: str, given: tuple[str | None, str | None, str | None], root: Path) -> tuple[str | None, ...]:
    """The option's, the environment's and the ini's value, each kept: the toolchain searches them in order."""
    return tuple(value or None for value in given)


def folder_or_user_cache(name: str, given: str | None, root: Path) -> Path:
    return root / Path(given).expanduser() if given else user_cache_root()


def folder_or_none(name: str, given: str | None, root: Path) -> Path | None:
    return root / Path(given).expanduser() if given else None


def path_or_none(name: str, given: str | None, root: Path) -> Path | None:
    """A path as given (the signing key: environment only, relative to where pytest runs)."""
    return Path(given).expanduser() if given else None


def kept_binaries(name: str, given: str | None, root: Path) -> Path | None:
    """``--wyn-keep-binaries``: where each test binary is kept, or None."""
    return root / ".pytest_cache" / "d" / "wyn-binaries" if flag(False)(name, given, root) else None


def known_failures(name: str, given: list[str] | None, root: Path) -> tuple[tuple[str, str, str], ...]:
    """(file name, the list naming it, kind) of every line of every list (read now: a bad list is a usage error).

    (``engine.read_lists`` when called: a session without Wyn tests never loads the lists' module.)
    """
    lists = engine.read_lists(list(given or ()), root)
    return tuple((file, known.list_name, known.kind) for file, known in lists.items())


def workers(name: str, given: str | None, root: Path) -> int | Literal["auto"]:
    """``auto`` or a whole number of workers from 0 to 1024 (0: the default ceiling)."""
    if given is None:
        return DEFAULT_WORKERS
    if given.strip().lower() == "auto":
        return "auto"
    return int(parse_number(name, given, 0, 1024, True, True)) or DEFAULT_WORKERS


def update_mode(name: str, given: str | None, root: Path) -> UpdateMode | None:
    """``expect``, ``all``, or a boolean word (on: ``expect``)."""
    mode = (given or "").strip().lower()
    if mode == "all":
        return "all"
    if mode == "expect":
        return "expect"
    if not mode:
        return None
    if mode not in BOOL_WORDS:
        raise SettingError(f"{name} must be expect, all, or one of {BOOL_ACCEPTED}, not {given!r}")
    return "expect" if BOOL_WORDS[mode] else None


def remote_url(name: str, given: str | None, root: Path) -> str:
    """An http(s):// or redis:// URL (its scheme in lower case), or "" for none."""
    url = (given or "").strip()
    if not url:
        return ""
    if scheme_of(url) not in SCHEMES:
        raise SettingError(f"{name} must be an http(s):// or redis:// URL, not {redact(url)!r}")
    return with_lower_scheme(url)
