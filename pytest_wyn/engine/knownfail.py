"""Known-failure lists, as Wyn's stdlib runner reads ``tests/stdlib/known_failures.txt``.

Lines ``<filename> <fail|hang|flaky>``, ``#`` starts a comment; a test is
matched by its file's name only. A listed test is tolerated however it ends:
pytest-wyn marks it ``xfail(strict=False)``, so a failure, a hang (its timeout)
or a crash is an expected failure, and a pass is reported as XPASS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .defaults import SettingError

KINDS = ("fail", "hang", "flaky")


@dataclass(frozen=True)
class KnownFailure:
    list_name: str  # the list's path as the setting names it: the reason shown
    kind: str
    line: int


def read_lists(paths: list[str], rootdir: Path) -> dict[str, KnownFailure]:
    """Every listed file name and where it is listed; SettingError for a missing list or a malformed line."""
    known: dict[str, KnownFailure] = {}
    for given in paths:
        path = rootdir / given
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SettingError(f"wyn_known_failures: cannot read {given} ({why})") from None
        for number, raw in enumerate(text.splitlines(), 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 2 or words[1] not in KINDS:
                expected = "expected `<filename> <fail|hang|flaky>`"
                raise SettingError(f"wyn_known_failures: {given}:{number}: {expected}, not {raw.strip()!r}")
            known.setdefault(Path(words[0]).name, KnownFailure(given, words[1], number))
    return known
