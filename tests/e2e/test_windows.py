"""Whole sessions on Windows (CI: a real Windows CPython under Wine, tests/harness/windows_wine/run.sh).

The stand-in compiles through the Windows C compiler on PATH (tcc there); the binaries are real `.exe`
files run by the Job Object back-end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import STANDIN, WynProject

pytestmark = pytest.mark.skipif(sys.platform != "win32", reason="Windows sessions run on Windows only")


def test_the_cache_round_trip_compiles_nothing_the_second_time(wyn: WynProject) -> None:
    """Issue 27.3: the fsync of a file opened for reading failed, so nothing was ever cached."""
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    wyn.write("test_b.wyn", 'test "one" {\n    assert(true)\n}\n')
    first = wyn.run()
    first.assert_outcomes(passed=2)
    assert "cannot be written" not in first.stdout.str()
    second = wyn.run()
    second.assert_outcomes(passed=2)
    second.stdout.fnmatch_lines(["compiled 0 file(s)*2 from the cache*"])
    assert len(wyn.compiles()) == 2


def test_a_crash_after_the_expected_output_fails(wyn: WynProject) -> None:
    """Issue 27.4: no signal on Windows, so a binary that printed its EXPECT lines and crashed passed."""
    # stdout is fully buffered through a pipe on Windows: flushed, the expected line is out before the crash.
    crash = '__c("fflush(stdout); *(volatile int *)0 = 1;")'
    wyn.write("test_crash.wyn", f'println("total: 3")\n{crash}\n// EXPECT: total: 3\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test binary crashed (exit 0xc0000005: access violation)*"])


def test_a_hang_is_killed_at_its_timeout_with_its_grandchild(wyn: WynProject, tmp_path: Path) -> None:
    mark = tmp_path / "grandchild.txt"
    grandchild = f"import time; open(r'{mark}', 'w').write('started'); time.sleep(8); open(r'{mark}', 'w').write('lived')"
    spawn = (
        "extern long long _spawnl(int, const char *, const char *, ...); "
        f"_spawnl(1, {_c(sys.executable)}, \\\"python\\\", \\\"-c\\\", {_c(_quoted(grandchild))}, (char *)0);"
    )
    wyn.write("test_hang.wyn", f'// TIMEOUT: 5\n__c("{spawn}")\nwhile true {{\n}}\n')  # 5 s: Python starts
    started = time.monotonic()
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 5 s; the test binary and its children were killed*"])
    assert time.monotonic() - started < 30
    time.sleep(9)
    assert mark.read_text() == "started"  # the grandchild was killed with the job before it could write again


def test_crlf_output_reads_as_lines(wyn: WynProject) -> None:
    """Windows binaries write text mode: every line of output, result lines included, ends in CRLF."""
    wyn.write("test_println.wyn", 'println("a")\nprintln("")\nprintln("b")\n// EXPECT: a\n// EXPECT: \n// EXPECT: b\n')
    wyn.write("test_blocks.wyn", 'test "one" {\n    println("x")\n}\ntest "two" {\n    assert(false)\n}\n')
    result = wyn.run("-rA")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_blocks.wyn::two - *"])  # Wine may deliver stderr late: no message check


def test_a_project_and_a_compiler_in_folders_with_spaces(wyn: WynProject) -> None:
    """As on a machine whose user is "First Last": the project, the compiler and the cache all have spaces."""
    project = wyn.path / "my project"
    tools = wyn.path / "my tools"
    tools.mkdir()
    wyn.compiler.rename(tools / wyn.compiler.name)
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\nwyn = true\n")
    (project / "tests" / "test_a.wyn").write_text('println("ok")\n// EXPECT: ok\n')
    (project / "tests" / "test_b.wyn").write_text('test "x" {\n    assert(true)\n}\ntest "y" {\n    assert(false)\n}\n')
    wyn.monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(wyn.path / "my cache"))
    wyn.monkeypatch.chdir(project)
    for _ in ("cold", "warm"):
        result = wyn.run("-v", f"--wyn-compiler={tools / wyn.compiler.name}")
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(["*tests/test_a.wyn::test_a PASSED*"])
    result.stdout.fnmatch_lines(["compiled 0 file(s)*2 from the cache*"])


def test_the_stand_in_writes_utf8_whatever_the_code_page(tmp_path: Path) -> None:
    """Issue 27.5: the stand-in printed ✓ to a cp1252 pipe and died of UnicodeEncodeError."""
    (tmp_path / "test_u.wyn").write_text('test "u" {\n    assert(true)\n}\n')
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUTF8", "PYTHONIOENCODING")}
    done = subprocess.run(
        [sys.executable, "-S", str(STANDIN), "build", "test_u.wyn", "-o", "u.exe"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert "\u2713".encode() in done.stdout
    ran = subprocess.run([str(tmp_path / "u.exe")], capture_output=True)
    assert "\u2713".encode() in ran.stdout


def _quoted(text: str) -> str:
    """An argument for _spawnl, which joins its arguments with spaces: in double quotes, as cmd.exe reads them."""
    return '"' + text.replace('"', '\\"') + '"'


def _c(text: str) -> str:
    """A C string literal of text, written inside the Wyn string that __c() takes."""
    literal = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return literal.replace("\\", "\\\\").replace('"', '\\"')


def test_the_second_level_reuses_c_compiles_on_windows(wyn: WynProject) -> None:
    """The C front on Windows: a .cmd launcher, the real C compiler (tcc under Wine) run only when told."""
    import shutil

    c_store = wyn.own_c_cache()
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    wyn.write("test_b.wyn", 'test "b" {\n    assert(true)\n}\n')
    first = wyn.run()
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["C generated for 2 of them: 0 C compile(s) reused (the second cache level), 2 compiled"])
    shutil.rmtree(wyn.cache / "entries")  # the first level forgets: as after a compiler edit
    second = wyn.run()
    second.assert_outcomes(passed=2)
    second.stdout.fnmatch_lines(["C generated for 2 of them: 2 C compile(s) reused (the second cache level), 0 compiled"])
    assert c_store.is_dir()
