"""The second cache level, seen from the builder: the front's launcher and the ``WYN_CC`` a compile gets.

The front (``cfront.FRONT``) is written once per process into its private run
directory; the real C compiler is named as Wyn would pick it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from . import cfront


def real_compiler_words() -> str | None:
    """The C compiler as Wyn would run it: the user's WYN_CC as written, else the first of cc, gcc, clang."""
    given = os.environ.get("WYN_CC", "").strip()
    if given:
        return given
    return next((name for name in ("cc", "gcc", "clang") if shutil.which(name)), None)


def write_front(run_dir: Path) -> str:
    """The front's launcher in ``run_dir`` (private to this process), as words for a shell command line.

    Its Python starts without site (``-S``) and imports no part of pytest-wyn: a
    compile that reuses its C step pays for little more than an interpreter's start.
    """
    front = run_dir / "wyn_cc_front.py"
    front.write_text(cfront.FRONT, encoding="utf-8")
    if sys.platform == "win32":
        launcher = run_dir / "wyn-cc.cmd"
        launcher.write_text(f'@"{sys.executable}" -S -E -s "{front}" %*\r\n', encoding="utf-8")
        return f'"{launcher}"'
    launcher = run_dir / "wyn-cc"
    launcher.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S -E -s {shlex.quote(str(front))} "$@"\n', encoding="utf-8"
    )
    launcher.chmod(0o700)
    return shlex.quote(str(launcher))


def c_level_env(front: str, server: cfront.CStepServer) -> dict[str, str] | None:
    """What a compile's environment gets for the second level; None without a C compiler to wrap."""
    words = real_compiler_words()
    return {"WYN_CC": f"{front} {words}", **server.env()} if words is not None else None


def generate_only_env(front: str) -> dict[str, str]:
    """A compile's environment that makes Wyn's C step a no-op: only the generated C is wanted (golden items).

    On POSIX the shell's own ``true`` (Wyn runs its C step through the shell), costing nothing; on
    Windows, where cmd.exe has no such command, the front in its generate-only mode.
    """
    if sys.platform != "win32":
        return {"WYN_CC": "true"}
    return {"WYN_CC": front, cfront.GENERATE_ONLY: "1"}
