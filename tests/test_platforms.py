"""Issue 18, as far as Linux can show it: no platform module at import, and the macOS process path.

A real macOS or Windows run is the project's GitHub Actions matrix; here a
``sitecustomize`` takes away what CPython lacks on those platforms.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import WynProject

from pytest_wyn.formats import crash_name

# What CPython on macOS lacks and Linux has (os.waitid exists on macOS only from 3.13), and the
# address-space limit macOS refuses.
MACOS_LIKE = """
import os, select, resource
for name in ("waitid", "pidfd_open", "sched_getaffinity", "pipe2"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("epoll",):
    if hasattr(select, name):
        delattr(select, name)
if hasattr(resource, "prlimit"):
    del resource.prlimit
_setrlimit = resource.setrlimit
def setrlimit(which, limits):
    if which == resource.RLIMIT_AS:
        raise ValueError("current limit exceeds maximum limit")
    return _setrlimit(which, limits)
resource.setrlimit = setrlimit
"""

NO_POSIX_MODULES = """
import sys
sys.modules["resource"] = None
sys.modules["fcntl"] = None
"""


def _harness(wyn: WynProject, tmp_path: Path, code: str) -> None:
    site = tmp_path / "harness"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(code))
    wyn.monkeypatch.setenv("PYTHONPATH", str(site))


def test_a_plain_python_project_runs_with_the_plugin_installed_and_no_posix_modules(
    wyn: WynProject, tmp_path: Path
) -> None:
    _harness(wyn, tmp_path, NO_POSIX_MODULES)
    wyn.pytester.makeini("[pytest]\n")  # wyn off: a project that does not use it
    wyn.write("test_plain.py", "import sys\n\ndef test_it():\n    assert sys.modules['resource'] is None\n")
    result = wyn.run_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


FILES = {
    "test_prog.wyn": "fn main() -> int {\n    return 0\n}\n",
    "test_out.wyn": 'println("one")\n// EXPECT: two\n',
    "test_blocks.wyn": 'test "good" {\n    assert(true)\n}\ntest "bad" {\n    assert_eq(1, 2)\n}\n',
    "test_hang.wyn": "// TIMEOUT: 1\nwhile true {\n}\n",
    "test_crash.wyn": '__c("raise(SIGSEGV);")\n',
    "test_sleep.wyn": 'test "naps" {\n    Time.sleep(300)\n}\n',
}


@pytest.mark.parametrize("mode", [["-n0"], [], ["-n", "2"]], ids=["serial", "run-ahead", "xdist"])
def test_verdicts_on_the_macos_like_process_path(wyn: WynProject, tmp_path: Path, mode: list[str]) -> None:
    _harness(wyn, tmp_path, MACOS_LIKE)
    for name, text in FILES.items():
        wyn.write(name, text)
    result = wyn.run_subprocess(*mode, "-rA", "-p", "no:randomly")
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_prog.wyn::test_prog",
            "FAILED test_out.wyn::test_out - output line 1 differs*",
            "PASSED test_blocks.wyn::good",
            "FAILED test_blocks.wyn::bad - assert_eq failed*",
            "FAILED test_hang.wyn::test_hang - timed out after 1 s*",
            "FAILED test_crash.wyn::test_crash - the test binary was killed by SIGSEGV*",
            "PASSED test_sleep.wyn::naps",
        ]
    )
    result.assert_outcomes(passed=3, failed=4)
    assert "internal error" not in result.stdout.str()


def test_crash_statuses_are_named() -> None:
    assert crash_name(0) is None and crash_name(1) is None
    assert crash_name(139) == "exit 139: segmentation fault or stack overflow"
    assert crash_name(3221225725) == "exit 0xc00000fd: stack overflow"
    assert crash_name(-1073741819) == "exit 0xc0000005: access violation"  # the same status, signed
    assert crash_name(1, "Crash detected (signal 11)\n") == "Crash detected (signal 11)"
