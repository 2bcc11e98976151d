"""Issue 12: --wyn-update rewrites EXPECT lines from what the program printed, safely."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import WynProject


def test_the_workflow_rewrites_reports_and_the_next_run_passes(wyn: WynProject) -> None:
    wyn.write("test_out.wyn", 'println("one")\nprintln("two")\n// EXPECT: uno\n// EXPECT: dos\n')
    wyn.write("test_same.wyn", '// EXPECT: same\nprintln("same")\n')
    result = wyn.run("--wyn-update", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "test_out.wyn::test_out UPDATED*",
            "test_same.wyn::test_same PASSED*",
            "*- wyn --wyn-update -*",
            "--- a/test_out.wyn",
            "+++ b/test_out.wyn",
            "-// EXPECT: uno",
            "-// EXPECT: dos",
            "+// EXPECT: one",
            "+// EXPECT: two",
            "updated 1 file(s), 2 line(s); review the diff, then commit",
        ]
    )
    assert (wyn.path / "test_out.wyn").read_text() == 'println("one")\nprintln("two")\n// EXPECT: one\n// EXPECT: two\n'
    result = wyn.run("-v")
    result.assert_outcomes(passed=2)
    assert sorted(wyn.compiles()) == ["test_out.wyn", "test_out.wyn", "test_same.wyn"]  # the rewrite recompiles


def test_only_expect_lines_change_where_they_stood(wyn: WynProject) -> None:
    path = wyn.path / "test_style.wyn"
    path.write_bytes(
        b'println("a")\r\n'
        b'    // EXPECT: old a\r\n'
        b"// a comment between EXPECT lines\r\n"
        b'println("b")\r\n'
        b"//EXPECT: old b\r\n"
        b"// EXPECT: surplus\r\n"
        b'println("c")\r\n'
    )
    path.chmod(0o640)
    wyn.run("--wyn-update").assert_outcomes(passed=1)
    assert path.read_bytes() == (
        b'println("a")\r\n'
        b"    // EXPECT: a\r\n"
        b"// a comment between EXPECT lines\r\n"
        b'println("b")\r\n'
        b"// EXPECT: b\r\n"
        b"// EXPECT: c\r\n"
        b'println("c")\r\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.write_bytes(path.read_bytes().replace(b"// EXPECT: c\r\n", b"").replace(b"EXPECT: b", b"EXPECT: bee"))
    wyn.write("test_more.wyn", 'println("1")\nprintln("")\nprintln("3")\n  // EXPECT: one\n')
    wyn.run("--wyn-update").assert_outcomes(passed=2)
    assert (wyn.path / "test_more.wyn").read_text() == (
        'println("1")\nprintln("")\nprintln("3")\n  // EXPECT: 1\n  // EXPECT: \n  // EXPECT: 3\n'
    )
    assert b'println("b")\r\n// EXPECT: b\r\n// EXPECT: c\r\n' in path.read_bytes()


def test_an_empty_expected_line_reads_with_or_without_its_trailing_space(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", 'println("x")\nprintln("")\nprintln("y")\n// EXPECT: x\n// EXPECT:\n// EXPECT: y\n')
    wyn.write("test_b.wyn", 'println("x")\nprintln("")\nprintln("y")\n// EXPECT: x\n// EXPECT: \n// EXPECT: y\n')
    wyn.run().assert_outcomes(passed=2)


def test_expect_exit_is_updated_only_where_the_file_has_one(wyn: WynProject) -> None:
    wyn.write("test_exit.wyn", '// EXPECT_EXIT: 3\n// EXPECT: a\nprintln("b")\nexit(4)\n')
    wyn.write("test_noexit.wyn", '// EXPECT: a\nprintln("b")\nexit(4)\n')
    result = wyn.run("--wyn-update")
    result.assert_outcomes(passed=1, failed=1)
    assert (wyn.path / "test_exit.wyn").read_text() == '// EXPECT_EXIT: 4\n// EXPECT: b\nprintln("b")\nexit(4)\n'
    # A failing exit without EXPECT_EXIT is a failure, not an answer to pin.
    assert (wyn.path / "test_noexit.wyn").read_text() == '// EXPECT: a\nprintln("b")\nexit(4)\n'
    result.stdout.fnmatch_lines(["*not updated by --wyn-update: the program exited 4; a failing run is not pinned*"])


def test_expect_error_fragments_are_never_invented(wyn: WynProject) -> None:
    text = "// EXPECT_ERROR: no such thing\nprintln(nope)\n"
    wyn.write("test_err.wyn", text)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*diagnostics:",
            "*Undefined variable 'nope'*",
            "not updated by --wyn-update: it never writes EXPECT_ERROR fragments; pick one from the diagnostics",
        ]
    )
    assert (wyn.path / "test_err.wyn").read_text() == text


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("// TIMEOUT: 0.5\n// EXPECT: x\nwhile true {\n}\n", "the run timed out"),
        ('// EXPECT: x\nprintln("a")\n__c("raise(SIGKILL);")\n', "the test binary was killed by SIGKILL"),
        ('// EXPECT: x\n__c("fwrite(\\"a\\\\000b\\\\n\\", 1, 4, stdout);")\n', "output line 1 holds '\\x00'"),
        ('// EXPECT: x\n__c("fputs(\\"a\\\\rb\\\\n\\", stdout);")\n', "output line 1 holds '\\r'"),
        ('// EXPECT: x\n__c("for (int i = 0; i < 201; i++) puts(\\"l\\");")\n', "the output has 201 lines, over the 200"),
        ('// EXPECT: x\n__c("for (int i = 0; i < 5000; i++) puts(\\"long line of output\\");")\n', "the output was over the limit and cut (wyn_max_output)"),
    ],
)
def test_runs_that_cannot_be_pinned_are_refused_and_fail_as_before(wyn: WynProject, body: str, why: str) -> None:
    wyn.write("test_x.wyn", body)
    wyn.ini("wyn_max_output = 20000\n")
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    assert f"not updated by --wyn-update: {why}" in result.stdout.str()
    assert (wyn.path / "test_x.wyn").read_text() == body
    assert "wyn --wyn-update" not in result.stdout.str()


def test_program_tests_become_output_tests_only_when_asked(wyn: WynProject) -> None:
    text = 'println("pinned")\n'
    wyn.write("test_prog.wyn", text)
    wyn.run("--wyn-update").assert_outcomes(passed=1)
    assert (wyn.path / "test_prog.wyn").read_text() == text
    result = wyn.run("--wyn-update=all", "-v")
    result.stdout.fnmatch_lines(["test_prog.wyn::test_prog UPDATED*"])
    assert (wyn.path / "test_prog.wyn").read_text() == text + "\n// EXPECT: pinned\n"
    wyn.write("test_prog.wyn", text.replace("pinned", "changed") + "\n// EXPECT: pinned\n")
    wyn.run().assert_outcomes(failed=1)


def test_a_block_files_blocks_are_never_rewritten_its_expect_lines_are(wyn: WynProject) -> None:
    body = 'test "a" {\n    println("%s")\n    assert(false)\n}\n// EXPECT: globals ok\n'
    wyn.write("test_blk.wyn", body % "globals changed")
    result = wyn.run("--wyn-update", "-v")
    result.stdout.fnmatch_lines(["test_blk.wyn::a FAILED*", "test_blk.wyn::EXPECT UPDATED*"])
    assert (wyn.path / "test_blk.wyn").read_text() == (body % "globals changed").replace(
        "EXPECT: globals ok", "EXPECT: globals changed"
    )


def test_a_file_changed_after_collection_is_not_overwritten(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", '// EXPECT: x\nprintln("a")\n')
    wyn.write(
        "conftest.py",
        "def pytest_runtest_setup(item):\n"
        "    with open(item.path, 'a') as f:\n"
        "        f.write('// edited meanwhile\\n')\n",
    )
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not updated by --wyn-update: the file changed between collection and compiling*"])
    assert (wyn.path / "test_a.wyn").read_text() == '// EXPECT: x\nprintln("a")\n// edited meanwhile\n'


def test_a_parallel_update_writes_each_file_once(wyn: WynProject) -> None:
    for n in range(6):
        blocks = "".join(f'test "b{b}" {{\n    assert(true)\n}}\n' for b in range(3))
        wyn.write(f"test_p{n}.wyn", f'println("{n}")\n// EXPECT: wrong\n')
        wyn.write(f"test_b{n}.wyn", f'test "first" {{\n    println("{n}")\n}}\n{blocks}// EXPECT: wrong\n')
    result = wyn.run_subprocess("-n", "3", "--wyn-update")
    result.assert_outcomes(passed=36)
    result.stdout.fnmatch_lines(["updated 12 file(s), 12 line(s); review the diff, then commit"])
    for n in range(6):
        assert (wyn.path / f"test_p{n}.wyn").read_text() == f'println("{n}")\n// EXPECT: {n}\n'
        assert (wyn.path / f"test_b{n}.wyn").read_text().endswith(f"// EXPECT: {n}\n")
    assert not [p for p in os.listdir(wyn.path) if p.endswith(".wyn-update")]
    wyn.run_subprocess("-n", "3").assert_outcomes(passed=36)
