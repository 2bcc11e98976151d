"""The second cache level, seen from the builder: the ``WYN_CC`` a compile gets, and what its C step did.

The front itself (``cfront.py``) runs in the C-compiler's place, in a process
of its own; this module makes its launcher once per process (in the private
run directory), names the real C compiler as Wyn would pick it, and reads back
each compile's one-word log.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import cfront

CStep = Literal["reused", "compiled", "generated", "uncached", ""]
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # where `import pytest_wyn` finds this copy


@dataclass(frozen=True)
class CLevel:
    store: Path  # the second level's entries (a Store of its own)
    wyn_cc: str  # WYN_CC for wyn build: the front's launcher, then the real C compiler's words

    def env(self, log: Path, trusted: str = "") -> dict[str, str]:
        """What a compile's environment gets on top of the session's (``trusted``: the hex signers whose
        fetched entries may be served)."""
        return {"WYN_CC": self.wyn_cc, cfront.STORE: str(self.store), cfront.LOG: str(log), cfront.TRUSTED: trusted}


def real_compiler_words() -> str | None:
    """The C compiler as Wyn would run it: the user's WYN_CC as written, else the first of cc, gcc, clang."""
    given = os.environ.get("WYN_CC", "").strip()
    if given:
        return given
    return next((name for name in ("cc", "gcc", "clang") if shutil.which(name)), None)


def write_front(run_dir: Path) -> str:
    """The front's launcher in ``run_dir`` (private to this process), as words for a shell command line."""
    front = run_dir / "wyn_cc_front.py"
    front.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(_PACKAGE_PARENT)!r})\n"
        "from pytest_wyn.engine.cfront import main\n"
        "sys.exit(main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    if sys.platform == "win32":
        launcher = run_dir / "wyn-cc.cmd"
        launcher.write_text(f'@"{sys.executable}" -E -s "{front}" %*\r\n', encoding="utf-8")
        return f'"{launcher}"'
    launcher = run_dir / "wyn-cc"
    launcher.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -E -s {shlex.quote(str(front))} "$@"\n', encoding="utf-8"
    )
    launcher.chmod(0o700)
    return shlex.quote(str(launcher))


def open_c_level(front: str, store: Path) -> CLevel | None:
    """The second level through ``front``; None without a C compiler to wrap (Wyn then says so itself)."""
    words = real_compiler_words()
    return CLevel(store, f"{front} {words}") if words is not None else None


def generate_only_env(front: str) -> dict[str, str]:
    """A compile's environment that makes Wyn's C step a no-op: only the generated C is wanted (golden items)."""
    return {"WYN_CC": front, cfront.GENERATE_ONLY: "1"}


def c_step(log: Path) -> tuple[CStep, str]:
    """What the last C step logged there, and its key ("" when the compiler never ran one: it failed before)."""
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "", ""
    words = lines[-1].split() if lines else []
    step = words[0] if words else ""
    if step not in ("reused", "compiled", "generated", "uncached"):
        return "", ""
    return step, words[1] if len(words) > 1 else ""  # type: ignore[return-value]
