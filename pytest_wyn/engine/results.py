"""What the engine's steps hand each other and the pytest side: plain results, made once and read.

``BuildResult`` (a file's build: compiled now, or served by a cache level),
``Verdict`` (one test's) and ``FileOutcome`` (a file's build, run and
verdicts) live here, so that a module reading a result need not import the
module that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .process import Completed


@dataclass
class BuildResult:
    ok: bool
    binary: Path | None = None
    diagnostics: str = ""  # the compiler's output, escapes stripped
    compile_seconds: float = 0.0  # what compiling took (recorded, for a cache hit)
    cached: bool = False
    remote: bool = False  # served from an entry this session fetched from the shared cache
    problem: str = ""  # why there is no binary, when it is not the compiler's verdict
    retries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_digest: str = ""  # sha256 of the source bytes this build is of
    command: tuple[str, ...] = ()  # the compile command (for a cache hit: the one that built it)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""
    line: int | None = None  # 1-based, in the file named by ``path``
    path: str | None = None  # None: the test file itself
    details: list[str] = field(default_factory=list)
    error: bool = False  # reported as a pytest error, not a failure
    output: str = ""  # what this test printed (a block: its own part of the run)


@dataclass(frozen=True)
class FileOutcome:
    """One file's build, run and verdicts: made once, read by every test of the file, never changed."""

    build: BuildResult | None
    run: Completed | None
    verdicts: tuple[Verdict, ...]
    timeout: float
    outputs: tuple[str, ...] = ()  # per item: what its run printed, its "stdout"
    seconds: float = 0.0  # what building, running and judging took
    ahead: bool = False  # computed by run-ahead, before its first item asked
    kept_binary: str = ""  # --wyn-keep-binaries: where the binary was kept and how to run it (or why not)
    waited_before_rerun: float | None = None  # run-ahead ran it again, alone, after its first run starved this long
