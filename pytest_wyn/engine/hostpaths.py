"""Paths and command lines as each platform's Wyn expects them: pure functions, testable anywhere.

Windows differs in ways Wyn itself shows: MinGW's gcc writes ``OUT.exe`` for
``-o OUT``; Wyn splits module paths on ``/`` only and puts ``-o`` unquoted into
a command line (no spaces); ``wyn.exe`` is found through ``PATHEXT``, and every
file is "executable" there, so ``./wyn`` (a POSIX script) must not be taken;
``WYN_CC`` is split by Windows' own rules (``CommandLineToArgvW``).
"""

from __future__ import annotations

import ntpath
import os
import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path, PurePath

DEFAULT_PATHEXT = ".COM;.EXE;.BAT;.CMD"


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def executable_name(stem: str, platform: str = sys.platform) -> str:
    """The file name a compiled test binary has (MinGW appends ``.exe`` to a suffix-less ``-o``).

    Only letters, digits, ``_``, ``.`` and ``-``: Wyn puts ``-o`` unquoted into the C
    compiler's command line, so ``test_a b.wyn`` must not become ``-o .../test_a b``.
    """
    stem = _UNSAFE_IN_NAME.sub("_", stem)
    return stem + ".exe" if platform == "win32" and not stem.lower().endswith(".exe") else stem


def wyn_path(path: PurePath | str) -> str:
    """A path as handed to Wyn: with ``/`` (Wyn splits module paths on it, and embeds it in panics)."""
    return path.as_posix() if isinstance(path, PurePath) else str(path).replace("\\", "/")


def compile_arg(source: Path, rootdir: Path) -> str:
    """The path the compiler is given for a file (part of its cache key): from the rootdir when inside it."""
    try:
        return wyn_path(source.relative_to(rootdir))
    except ValueError:
        return wyn_path(source)


def local_compiler_names(platform: str = sys.platform, pathext: str | None = None) -> list[str]:
    """The names ``./wyn`` may have in the rootdir: ``wyn`` on POSIX, ``wyn.exe`` ... by PATHEXT on Windows."""
    if platform != "win32":
        return ["wyn"]
    exts = (pathext if pathext is not None else os.environ.get("PATHEXT", DEFAULT_PATHEXT)).split(";")
    return [f"wyn{ext.lower()}" for ext in exts if ext.strip()]


def split_command(text: str, platform: str = sys.platform) -> list[str]:
    """A command line split into words, by the rules of the platform's shell (``WYN_CC``)."""
    if platform == "win32":
        return split_windows(text)
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def split_windows(text: str) -> list[str]:
    """``CommandLineToArgvW``'s rules: whitespace separates, quotes group, and backslashes
    escape a quote only when they come before one (2n backslashes + quote: n backslashes and
    a quote that toggles; 2n+1: n backslashes and a literal quote)."""
    words: list[str] = []
    word: list[str] = []
    quoted = False
    started = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                word.append("\\" * (count // 2))
                if count % 2:
                    word.append('"')
                    i = j + 1
                else:
                    i = j
                started = True
                continue
            word.append("\\" * count)
            started = True
            i = j
            continue
        if c == '"':
            if quoted and i + 1 < n and text[i + 1] == '"':  # "" inside quotes: a literal quote
                word.append('"')
                i += 2
                continue
            quoted = not quoted
            started = True
        elif c in " \t" and not quoted:
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(c)
            started = True
        i += 1
    if started:
        words.append("".join(word))
    return words


def has_separator(word: str, platform: str = sys.platform) -> bool:
    """Whether a command word names a path (not a name looked up on PATH)."""
    return "/" in word or (platform == "win32" and ("\\" in word or ntpath.splitdrive(word)[0] != ""))


def spaceless(candidates: Iterable[str]) -> str | None:
    """The first directory without a space (Wyn passes ``-o`` unquoted to the C compiler)."""
    return next((c for c in candidates if c and " " not in c), None)
