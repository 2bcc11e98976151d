"""Golden-C snapshots, as Wyn's own ``tests/golden/run_golden_tests.sh`` checks them.

``NAME.wyn`` beside ``NAME.c.golden`` is one snapshot test: ``wyn build NAME.wyn
--debug`` on a copy of the file in a private directory, with a C step that
compiles nothing (only the generated C is wanted), then ``NAME.wyn.c`` with
every path ending in ``NAME.wyn`` written as ``NAME.wyn`` and trailing CRs
dropped, compared byte for byte with the snapshot (its CRs dropped too).
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .formats import strip_ansi
from .process import child_env, run_bounded
from .toolchain import CompileCommand, Toolchain

MAX_DIFF_LINES = 80  # the diff shown under a failure; the rest is counted


def normalized(c_text: bytes, base: str) -> bytes:
    """As the script's sed: any path ending in ``BASE.wyn`` becomes ``BASE.wyn``; a CR before a line end goes."""
    name = re.escape(base.encode("utf-8")) + rb"\.wyn"
    return _without_trailing_crs(re.sub(rb'[^"\s]*' + name, base.encode("utf-8") + b".wyn", c_text))


def _without_trailing_crs(text: bytes) -> bytes:
    return re.sub(rb"\r(?=\n|\Z)", b"", text)


@dataclass(frozen=True)
class Generated:
    c: bytes | None  # the normalized C; None when it could not be generated
    problem: str = ""  # why not
    diagnostics: str = ""  # the compiler's output, escapes stripped


def generate(
    toolchain: Toolchain,
    command: CompileCommand,
    rootdir: Path,
    source: Path,
    env: dict[str, str],
    timeout: float,
    limit: int,
) -> Generated:
    """Wyn's C for ``source`` (a copy of it, in a private directory), normalized; ``env`` makes the C step a no-op."""
    base = source.name[: -len(".wyn")]
    work = Path(tempfile.mkdtemp(prefix="pytest-wyn-golden-"))
    try:
        copy = work / source.name
        shutil.copyfile(source, copy)
        argv = [*command.argv(toolchain.path, copy.as_posix(), (work / base).as_posix()), "--debug"]
        done = run_bounded(
            argv, cwd=str(rootdir), env=child_env(extra=env), timeout=timeout, limit=limit, die_with_parent=True
        )
        diagnostics = strip_ansi(done.text)
        c_file = work / (source.name + ".c")
        if done.launch_error:
            return Generated(None, f"the compiler could not be started: {done.launch_error}", diagnostics)
        if done.timed_out:
            return Generated(None, f"generating the C did not finish within {timeout:g} s", diagnostics)
        if done.returncode != 0 or not c_file.is_file():
            why = f"exited {done.returncode}" if done.returncode != 0 else f"wrote no {c_file.name}"
            return Generated(None, f"wyn build --debug {why}: no C to compare", diagnostics)
        return Generated(normalized(c_file.read_bytes(), base), "", diagnostics)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Comparison:
    same: bool
    first_line: int = 0  # 1-based, in the snapshot
    diff: tuple[str, ...] = ()  # a unified diff, bounded (MAX_DIFF_LINES)


def compare_golden(generated: bytes, snapshot: bytes, shown_as: str) -> Comparison:
    """Byte for byte, the snapshot's CRs dropped as the script does; a bounded unified diff when they differ."""
    wanted = _without_trailing_crs(snapshot)
    if generated == wanted:
        return Comparison(True)
    old = wanted.decode("utf-8", "replace").splitlines(keepends=True)
    new = generated.decode("utf-8", "replace").splitlines(keepends=True)
    first = next((n for n, (a, b) in enumerate(zip(old, new, strict=False), 1) if a != b), min(len(old), len(new)) + 1)
    lines = [ln.rstrip("\n") for ln in difflib.unified_diff(old, new, shown_as, "generated", n=3)]
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines not shown)"]
    return Comparison(False, first, tuple(lines))
