"""Issue 19: --wyn-update never loses or invents an expectation."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import WynProject


def test_xfail_and_skip_tests_are_never_rewritten(wyn: WynProject) -> None:
    xfail = '// XFAIL: known bug, -4 is right\nprintln("-3")\n// EXPECT: -4\n'
    skip = '// SKIP: later\nprintln("a")\n// EXPECT: b\n'
    wyn.write("test_xfail.wyn", xfail)
    wyn.write("test_skip.wyn", skip)
    wyn.write("test_marked.wyn", 'println("a")\n// EXPECT: b\n')
    wyn.ini("markers =\n    slow: x\n")
    wyn.write(
        "conftest.py",
        "import pytest\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        if 'marked' in item.nodeid:\n"
        "            item.add_marker(pytest.mark.xfail(reason='pinned', strict=True))\n",
    )
    result = wyn.run("--wyn-update")
    result.assert_outcomes(xfailed=2, skipped=1)
    assert (wyn.path / "test_xfail.wyn").read_text() == xfail
    assert (wyn.path / "test_skip.wyn").read_text() == skip
    assert (wyn.path / "test_marked.wyn").read_text() == 'println("a")\n// EXPECT: b\n'
    assert "updated" not in result.stdout.str()


def test_example_projects_known_bug_keeps_its_expectation(wyn: WynProject) -> None:
    wyn.write("test_known_bug.wyn", '// XFAIL: off by one\nprintln("-3")\n// EXPECT: -4\n')
    wyn.run("--wyn-update").assert_outcomes(xfailed=1)
    wyn.run().assert_outcomes(xfailed=1)


BLOCKS_AND_EXPECT = 'println("globals")\ntest "adds" {\n    assert(true)\n}\n// EXPECT: old\n'


@pytest.mark.parametrize("args", [["-k", "adds"], ["--deselect", "test_b.wyn::EXPECT"]], ids=["k", "deselect"])
def test_a_deselected_expect_item_never_rewrites_its_file(wyn: WynProject, args: list[str]) -> None:
    wyn.write("test_b.wyn", BLOCKS_AND_EXPECT)
    result = wyn.run("--wyn-update", *args)
    result.assert_outcomes(passed=1)
    assert (wyn.path / "test_b.wyn").read_text() == BLOCKS_AND_EXPECT


def test_a_test_skipped_at_run_time_is_never_rewritten(wyn: WynProject) -> None:
    wyn.write("test_p.wyn", 'println("new")\n// EXPECT: old\n')
    wyn.write("conftest.py", "import pytest\n\ndef pytest_runtest_setup(item):\n    pytest.skip('needs --runslow')\n")
    for args in ((), ("-n0",)):
        wyn.run_subprocess(*args, "--wyn-update").assert_outcomes(skipped=1)
        assert (wyn.path / "test_p.wyn").read_text() == 'println("new")\n// EXPECT: old\n'


def test_stop_after_first_failure_rewrites_nothing_after_the_stop(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", "assert(false)\n")
    for n in range(4):
        wyn.write(f"test_b{n}.wyn", 'println("new")\n// EXPECT: old\n')
    result = wyn.run_subprocess("-x", "--wyn-update", "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    for n in range(4):
        assert (wyn.path / f"test_b{n}.wyn").read_text() == 'println("new")\n// EXPECT: old\n'


def test_dist_load_rewrites_from_the_worker_that_holds_the_expect_item(wyn: WynProject) -> None:
    blocks = "".join(f'test "b{n}" {{\n    assert(true)\n}}\n' for n in range(6))
    for n in range(3):
        wyn.write(f"test_f{n}.wyn", f'println("{n}")\n{blocks}// EXPECT: old\n')
    result = wyn.run_subprocess("-n", "3", "--dist", "load", "--wyn-update")
    result.assert_outcomes(passed=21)
    result.stdout.fnmatch_lines(["updated 3 file(s), 3 line(s); review the diff, then commit"])
    for n in range(3):
        assert (wyn.path / f"test_f{n}.wyn").read_text().endswith(f"// EXPECT: {n}\n")
    wyn.run_subprocess("-n", "3", "--dist", "load").assert_outcomes(passed=21)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('println("// EXPECT: hi")\nprintln("x")\n', "line 1 holds code besides its // EXPECT: comment"),
        ('println("one") /* // EXPECT: one */\nprintln("x")\n', "line 1 holds code besides its // EXPECT: comment"),
        ('/*\n// EXPECT: old\n*/\n__c("puts(\\"a */ b\\");")\n', "would close it early"),
    ],
)
def test_lines_shared_with_code_are_refused_with_their_number(wyn: WynProject, text: str, why: str) -> None:
    wyn.write("test_c.wyn", text)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    assert why in result.stdout.str()
    assert (wyn.path / "test_c.wyn").read_text() == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('println("partial")\npanic("boom")\n// EXPECT: old\n', "the program panicked (panic: boom)"),
        ('println("partial")\n__c("raise(SIGSEGV);")\n// EXPECT: old\n', "the test binary was killed by SIGSEGV"),
        ('println("partial")\nexit(2)\n// EXPECT: old\n', "the program exited 2; a failing run is not pinned"),
    ],
)
def test_a_crash_or_failure_is_never_saved_as_the_expectation(wyn: WynProject, text: str, why: str) -> None:
    wyn.write("test_crash.wyn", text)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    assert f"not updated by --wyn-update: {why}" in result.stdout.str()
    assert (wyn.path / "test_crash.wyn").read_text() == text


def test_links_and_permissions(wyn: WynProject) -> None:
    shared = wyn.path / "shared"
    shared.mkdir()
    target = shared / "real.wyn"
    target.write_text('println("new")\n// EXPECT: old\n')
    (wyn.path / "test_link.wyn").symlink_to(target)
    hard = wyn.path / "test_hard.wyn"
    hard.write_text('println("new")\n// EXPECT: old\n')
    os.link(hard, shared / "hard_twin.wyn")
    readonly = wyn.path / "test_ro.wyn"
    readonly.write_text('println("new")\n// EXPECT: old\n')
    readonly.chmod(0o444)
    result = wyn.run("--wyn-update", "test_link.wyn", "test_hard.wyn", "test_ro.wyn")
    result.assert_outcomes(passed=2, failed=1)
    assert (wyn.path / "test_link.wyn").is_symlink()
    assert target.read_text() == 'println("new")\n// EXPECT: new\n'  # written through the link
    assert (shared / "hard_twin.wyn").read_text() == 'println("new")\n// EXPECT: new\n'
    assert os.stat(hard).st_ino == os.stat(shared / "hard_twin.wyn").st_ino
    assert readonly.read_text() == 'println("new")\n// EXPECT: old\n'
    assert stat.S_IMODE(readonly.stat().st_mode) == 0o444
    assert "test_ro.wyn is read-only (mode 444)" in result.stdout.str()


def test_the_option_is_a_switch_that_never_takes_the_next_argument(wyn: WynProject) -> None:
    wyn.write("tests/test_x.wyn", 'println("new")\n// EXPECT: old\n')
    wyn.write("tests/test_y.wyn", 'println("new")\n// EXPECT: old\n')
    result = wyn.run("--wyn-update", "tests/test_x.wyn", "-v")
    result.stdout.fnmatch_lines(["tests/test_x.wyn::test_x UPDATED*"])
    assert result.ret == pytest.ExitCode.OK
    assert (wyn.path / "tests/test_y.wyn").read_text() == 'println("new")\n// EXPECT: old\n'
    result = wyn.run("--wyn-update=expect", "tests/test_y.wyn")
    result.assert_outcomes(passed=1)
    assert (wyn.path / "tests/test_y.wyn").read_text() == 'println("new")\n// EXPECT: new\n'


def test_an_update_never_removes_every_expect_line(wyn: WynProject) -> None:
    """A program that prints nothing would leave a program test passing whatever it prints later."""
    body = '// EXPECT: one\n// EXPECT: two\nlet x = 1\n'
    wyn.write("test_silent.wyn", body)
    for mode in ("--wyn-update", "--wyn-update=all"):
        result = wyn.run(mode)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["*not updated by --wyn-update: the program printed nothing: that would remove all 2 EXPECT line(s)*"]
        )
        assert (wyn.path / "test_silent.wyn").read_text() == body
        assert "updated 1 file(s)" not in result.stdout.str()


def test_surplus_expect_lines_are_removed_only_when_asked_and_never_the_last(wyn: WynProject) -> None:
    body = 'println("one")\n// EXPECT: uno\n// EXPECT: dos\n// EXPECT: tres\n'
    wyn.write("test_fewer.wyn", body)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the program printed 1 line(s) for the file's 3 EXPECT line(s); --wyn-update=all*"])
    assert (wyn.path / "test_fewer.wyn").read_text() == body
    wyn.run("--wyn-update=all").assert_outcomes(passed=1)
    assert (wyn.path / "test_fewer.wyn").read_text() == 'println("one")\n// EXPECT: one\n'


def test_a_file_starting_with_a_byte_order_mark_is_updated_and_keeps_it(wyn: WynProject) -> None:
    path = wyn.path / "test_bom.wyn"
    path.write_bytes(b'\xef\xbb\xbf// EXPECT: old\nprintln("new")\n')
    wyn.run("--wyn-update").assert_outcomes(passed=1)
    assert path.read_bytes() == b'\xef\xbb\xbf// EXPECT: new\nprintln("new")\n'
    wyn.run().assert_outcomes(passed=1)
