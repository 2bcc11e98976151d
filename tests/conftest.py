"""Fixtures: a throw-away Wyn project driven by the stand-in toolchain."""

from __future__ import annotations

import compileall
import json
import os
import shlex
import shutil
import signal
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import pytest_wyn.hooks  # noqa: F401  (see below)

pytest_plugins = ["pytester"]
# The plugin imports its hooks, sessions and engine only when Wyn is on, and pytester's in-process
# sessions drop every module they import when they end: imported once here, before any of them, all of
# pytest-wyn stays one set of modules, the one a test's monkeypatch changes and every session uses.

TESTS = Path(__file__).parent  # tests/: unit/ (no pytest session), e2e/ (real sessions through pytester)
REPO = TESTS.parent
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Every kind of outcome in six files (a module among them): 3 tests pass, 3 fail.
MIXED_SUITE = {
    "test_pass.wyn": '// EXPECT: hello\nprintln("hello")\n',
    "test_fail.wyn": '// EXPECT: hello\nprintln("bye")\n',
    "test_compile_error.wyn": 'println("a")\nprintln(missing)\n',
    "test_blocks.wyn": 'test "one" {\n    assert(true)\n}\n\ntest "two" {\n    assert(false)\n}\n',
    "test_util.wyn": 'import util\ntest "answer" {\n    assert_eq(util.answer(), 42)\n}\n',
    "util.wyn": "pub fn answer() -> int {\n    return 42\n}\n",
}

def user_docs() -> str:
    """The README and every page under docs/, as one text (their code blocks are tested wherever they stand)."""
    return "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)
STANDIN = TESTS / "wyn_standin.py"


def launcher_text(target: Path | str) -> str:
    """``./wyn`` running the stand-in; ``-S``: it needs no site-packages, and skipping them halves its start-up."""
    if sys.platform == "win32":
        return f'@"{sys.executable}" -S "{target}" %*\r\n'
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S {shlex.quote(str(target))} "$@"\n'


LAUNCHER_NAME = "wyn.cmd" if sys.platform == "win32" else "wyn"  # ./wyn as pytest-wyn looks for it here

# The dev extra installs real plugins for tests/e2e/test_plugins.py and test_reporters.py (marked
# `all_plugins`). Every other session the suite starts, each xdist worker included, leaves out those
# that take no part in it: loading them costs a third of each process's start-up, and the suite
# starts several hundred. pytest-timeout and teamcity-messages stay: tests everywhere use them.
UNRELATED_PLUGINS = (
    "pytest-testmon",
    "pytest_cov",
    "html",
    "html_fixtures",
    "metadata",
    "pytest_jsonreport",
    "rerunfailures",
    "repeat",
    "pytest-split",
    "pytest_github_actions_annotate_failures",
)


class WynProject:
    """A pytester directory with ``./wyn`` (the stand-in), ``wyn = true`` and a private cache."""

    def __init__(
        self, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, all_plugins: bool = False
    ) -> None:
        self.pytester = pytester
        self.path = pytester.path
        self.cache = tmp_path / "wyn-cache"
        self.counter = tmp_path / "compiles.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(self.cache))
        monkeypatch.setenv("WYN_STANDIN_COUNT_FILE", str(self.counter))
        for name in (
            "WYN",
            "WYN_CC",
            "WYN_LENIENT",
            "PYTEST_WYN_NO_CACHE",
            "PYTEST_XDIST_AUTO_NUM_WORKERS",
            "WYN_STANDIN_DELAY",
            "WYN_STANDIN_CRASH",
            "PYTEST_ADDOPTS",
            "PYTEST_WYN_C_CACHE",
            "WYN_ROOT",
        ):
            monkeypatch.delenv(name, raising=False)
        if not all_plugins:
            monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(f"-p no:{name}" for name in UNRELATED_PLUGINS))
        self.compiler = self.path / LAUNCHER_NAME
        self.compiler.write_text(launcher_text(STANDIN))
        self.compiler.chmod(0o755)
        self.ini("")

    def own_c_cache(self) -> Path:
        """A second cache level of this project's own (not the suite's shared one): its counts are this test's."""
        where = self.cache.parent / "c-level"
        self.monkeypatch.setenv("PYTEST_WYN_C_CACHE_DIR", str(where))
        return where

    def ini(self, extra: str) -> None:
        self.pytester.makeini("[pytest]\nwyn = true\n" + textwrap.dedent(extra))

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def run(self, *args: str) -> pytest.RunResult:
        """In-process pytest, serial unless the test asks for workers."""
        if not any(a.startswith(("-n", "--numprocesses", "-p")) for a in args):
            args = ("-n0", *args)
        return self.pytester.runpytest(*args)

    def run_subprocess(self, *args: str, timeout: float = 300) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(*args, timeout=timeout)

    def record_compile_seconds(self, seconds: float) -> None:
        """Make the scheduling record say every file it knows takes this long to compile."""
        record_file = self.path / ".pytest_cache" / "v" / "wyn" / "files"
        record = json.loads(record_file.read_text())
        for costs in record.values():
            costs["compile_seconds"] = seconds
        record_file.write_text(json.dumps(record))

    def record_sleepers(self, seconds: float) -> None:
        """Make the scheduling record say every file it knows sleeps this long (so runs ahead)."""
        record_file = self.path / ".pytest_cache" / "v" / "wyn" / "files"
        record = json.loads(record_file.read_text())
        for costs in record.values():
            costs["run_seconds"], costs["run_cpu"] = seconds, 0.001
        record_file.write_text(json.dumps(record))

    def compiles(self) -> list[str]:
        if not self.counter.exists():
            return []
        return self.counter.read_text().splitlines()


def pytest_configure(config: pytest.Config) -> None:
    """Compile pytest-wyn's bytecode once, before the suite starts its hundreds of pytest processes.

    Each of them imports the plugin. Where the environment forbids writing bytecode
    (PYTHONDONTWRITEBYTECODE, as on CI machines) and the checkout is fresh, each would
    compile all of it from source again: about 0.1 s of CPU a process. compileall
    writes regardless, and atomically (xdist's workers may do this at the same time).
    """
    compileall.compile_dir(REPO / "pytest_wyn", quiet=1)


@pytest.fixture(scope="session", autouse=True)
def standin_cc_memo(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One C-compile memo for the stand-in across the session, xdist workers included (its docstring).

    And one second cache level (generated C -> binary) for every project the suite makes: its key is the
    C compile's content, so sharing it is as safe as the memo, and the suite compiles the same small
    programs hundreds of times. Tests of that level give their project its own (``WynProject.own_c_cache``).
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "standin-cc-memo"
    root.mkdir(exist_ok=True)
    os.environ["WYN_STANDIN_CC_MEMO"] = str(root)
    os.environ["PYTEST_WYN_C_CACHE_DIR"] = str(shared / "c-level-cache")


@pytest.fixture
def wyn(
    request: pytest.FixtureRequest, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WynProject:
    all_plugins = request.node.get_closest_marker("all_plugins") is not None
    return WynProject(pytester, tmp_path, monkeypatch, all_plugins)


def real_wyn() -> str | None:
    """A real Wyn compiler: $WYN_REAL, or a `wyn` on PATH that is not our stand-in."""
    env = os.environ.get("WYN_REAL")
    if env:
        return env
    found = shutil.which("wyn")
    if found:
        try:
            head = Path(found).read_bytes()[:4096]
        except OSError:
            return None
        if b"wyn_standin" not in head and b"pytest-wyn stand-in" not in head:
            return found
    return None


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line contains marker (the process table, from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll for an event instead of sleeping a fixed time; False if it never came."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def interruptible() -> None:
    """In a child: take Ctrl-C as a terminal would give it.

    A command started in the background of a non-interactive shell (as CI may
    start the suite) ignores SIGINT, children inherit that, and Python then
    installs no KeyboardInterrupt handler at all.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
