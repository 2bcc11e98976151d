"""Golden-C snapshot items (issue 29): NAME.wyn beside NAME.c.golden, in Wyn's own tests/golden layout."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STANDIN, WynProject

from pytest_wyn.engine.golden import normalized

PROGRAM = 'println("hi")\nvar a = [1, 2]\nprintln(a[1])\n'


def snapshot(wyn: WynProject, name: str, program: str) -> bytes:
    """The snapshot as Wyn's run_golden_tests.sh --update would write it (built here with the stand-in)."""
    source = wyn.write(f"tests/golden/{name}.wyn", program)
    subprocess.run(
        [sys.executable, str(STANDIN), "build", str(source), "--debug"], check=True, capture_output=True, cwd=wyn.path
    )
    c_file = Path(str(source) + ".c")
    data = normalized(c_file.read_bytes(), name)
    c_file.unlink()
    Path(str(source)[:-4]).unlink(missing_ok=True)
    (source.parent / f"{name}.c.golden").write_bytes(data)
    return data


def test_a_matching_snapshot_passes_without_compiling_or_running(wyn: WynProject) -> None:
    snapshot(wyn, "01_hello", PROGRAM)
    snapshot(wyn, "helper_named_anyhow", 'println("x")\n')
    wyn.write("tests/test_other.wyn", 'println("a")\n// EXPECT: a\n')
    result = wyn.run("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*tests/golden/01_hello.wyn::01_hello PASSED*"])
    result.stdout.fnmatch_lines(["compiled 1 file(s)*"])  # the program test; the snapshots only generate C
    generated = sorted(Path(p).name for p in wyn.compiles() if "pytest-wyn-golden-" in p)
    assert generated == ["01_hello.wyn", "helper_named_anyhow.wyn"]
    assert not list((wyn.path / "tests" / "golden").glob("*.wyn.c"))  # built in a private copy
    assert not (wyn.path / "tests" / "golden" / "01_hello").exists()


def test_a_difference_fails_with_a_bounded_diff_at_its_first_line(wyn: WynProject) -> None:
    snapshot(wyn, "02_change", PROGRAM)
    wyn.write("tests/golden/02_change.wyn", PROGRAM.replace('"hi"', '"hello"'))
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "the generated C differs from tests/golden/02_change.c.golden at line *",
            "--- tests/golden/02_change.c.golden",
            "+++ generated",
            '-*"hi"*',
            '+*"hello"*',
            "*(if the change is intended: pytest --wyn-update tests/golden/02_change.wyn)",
            "tests/golden/02_change.c.golden:*: the generated C differs*",
        ]
    )


def test_crlf_snapshots_and_absolute_paths_are_normalized_as_wyns_script_does(wyn: WynProject) -> None:
    data = snapshot(wyn, "03_crlf", PROGRAM)
    (wyn.path / "tests" / "golden" / "03_crlf.c.golden").write_bytes(data.replace(b"\n", b"\r\n"))
    wyn.run().assert_outcomes(passed=1)
    assert normalized(b'#line 1 "/abs/where/03_crlf.wyn"\r\nx\r\n', "03_crlf") == b'#line 1 "03_crlf.wyn"\nx\n'


def test_update_rewrites_the_snapshot_in_its_own_turn_only(wyn: WynProject) -> None:
    snapshot(wyn, "04_up", PROGRAM)
    golden = wyn.path / "tests" / "golden" / "04_up.c.golden"
    wyn.write("tests/golden/04_up.wyn", PROGRAM.replace('"hi"', '"new"'))
    before = golden.read_bytes()
    wyn.run("--wyn-update", "-k", "not 04_up").assert_outcomes()
    assert golden.read_bytes() == before  # deselected: never rewritten
    result = wyn.run("--wyn-update", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*04_up UPDATED*", "updated 1 file(s)*"])
    assert b'"new"' in golden.read_bytes()
    wyn.run().assert_outcomes(passed=1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits and symbolic links")
def test_update_writes_through_a_symlink_and_refuses_a_read_only_snapshot(wyn: WynProject) -> None:
    snapshot(wyn, "05_link", PROGRAM)
    real = wyn.path / "snapshots" / "05_link.c.golden"
    real.parent.mkdir()
    golden = wyn.path / "tests" / "golden" / "05_link.c.golden"
    real.write_bytes(golden.read_bytes())
    golden.unlink()
    golden.symlink_to(real)
    wyn.write("tests/golden/05_link.wyn", PROGRAM.replace('"hi"', '"linked"'))
    wyn.run("--wyn-update").assert_outcomes(passed=1)
    assert golden.is_symlink() and b'"linked"' in real.read_bytes()
    wyn.write("tests/golden/05_link.wyn", PROGRAM.replace('"hi"', '"locked"'))
    real.chmod(0o444)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not updated by --wyn-update: 05_link.c.golden is read-only*"])
    assert b'"locked"' not in real.read_bytes()
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o444


def test_a_file_that_does_not_generate_fails_with_the_diagnostics(wyn: WynProject) -> None:
    snapshot(wyn, "06_broken", PROGRAM)
    wyn.write("tests/golden/06_broken.wyn", "println(nope)\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["wyn build --debug exited 1: no C to compare", "*Undefined variable 'nope'*"])
