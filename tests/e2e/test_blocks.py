"""Issue 3: one item per `test "name"` block."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import WynProject

MATH = """
fn add(a: int, b: int) -> int {
    return a + b
}

before_each {
    println("setup")
}

test "adds" {
    assert_eq(add(2, 3), 5)
}

test "adds wrong" {
    println("in adds wrong")
    assert_eq(add(2, 2), 5)
}

test "neighbour" {
    assert_eq(add(1, 1), 3)
}

after_each {
    println("teardown")
}
"""


def test_one_item_per_block_located_at_its_line(wyn: WynProject) -> None:
    wyn.write("tests/test_math.wyn", MATH)
    result = wyn.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "tests/test_math.wyn::adds",
            "tests/test_math.wyn::adds wrong",
            "tests/test_math.wyn::neighbour",
            "3 tests collected*",
        ]
    )
    items, _ = wyn.pytester.inline_genitems("-n0")
    assert [(i.name, i.location[1]) for i in items] == [("adds", 8), ("adds wrong", 12), ("neighbour", 17)]
    assert all(i.location[0] == "tests/test_math.wyn" for i in items)
    assert all(type(i.parent).__name__ == "WynFile" and i.parent.path == i.path for i in items)
    assert not any(hasattr(i, "callspec") for i in items)
    path, line, _ = items[0].reportinfo()
    assert str(path).endswith("test_math.wyn") and line == 8


def test_verdict_per_block_with_its_own_assertion_messages(wyn: WynProject) -> None:
    wyn.write("tests/test_math.wyn", MATH)
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    section = out.split("test 'adds wrong'")[1].split("test 'neighbour'")[0]
    assert "in adds wrong" in section and "expected: 5" in section and "got:      4" in section
    assert "got:      2" not in section  # the neighbour's message stays with the neighbour
    assert "tests/test_math.wyn:13: assert_eq failed: expected 5, got 4" in section
    assert '  13 | test "adds wrong" {' in section
    assert "16 | }" in section  # the block's own source, and only its own
    assert "add(1, 1)" not in section
    result.stdout.fnmatch_lines(["FAILED tests/test_math.wyn::adds wrong - assert_eq failed: expected 5, got 4"])


def test_file_compiled_and_run_once_for_all_its_blocks(wyn: WynProject) -> None:
    wyn.write(
        "test_once.wyn",
        """
        test "a" {
            __c("FILE *f = fopen(\\"runs.log\\", \\"a\\"); fputs(\\"run\\\\n\\", f); fclose(f);")
            assert(true)
        }
        test "b" {
            assert(true)
        }
        test "c" {
            assert(true)
        }
        """,
    )
    wyn.run().assert_outcomes(passed=3)
    assert wyn.compiles() == ["test_once.wyn"]
    assert (wyn.path / "runs.log").read_text() == "run\n"


def test_selecting_a_subset_still_runs_the_whole_binary_once(wyn: WynProject) -> None:
    wyn.write("tests/test_math.wyn", MATH)
    wyn.run("tests/test_math.wyn::adds wrong").assert_outcomes(failed=1)
    wyn.run("-k", "neighbour").assert_outcomes(failed=1, deselected=2)
    wyn.run("tests/test_math.wyn::adds").assert_outcomes(passed=1)
    wyn.run("--deselect", "tests/test_math.wyn::neighbour").assert_outcomes(passed=1, failed=1, deselected=1)
    assert wyn.compiles() == ["tests/test_math.wyn"]  # and the cache served every later run


def test_last_failed_and_failed_first(wyn: WynProject) -> None:
    wyn.write("tests/test_math.wyn", MATH)
    wyn.write("test_other.wyn", 'test "fine" {\n    assert(true)\n}\n')
    wyn.run()
    result = wyn.run("--lf", "-v")
    result.assert_outcomes(failed=2)
    assert " PASSED" not in result.stdout.str()
    result = wyn.run("--ff", "-v")
    lines = [ln for ln in result.stdout.lines if " PASSED" in ln or " FAILED" in ln]
    assert "FAILED" in lines[0] and "FAILED" in lines[1]


def test_panic_fails_its_block_and_the_rest_are_not_run(wyn: WynProject) -> None:
    wyn.write(
        "test_panic.wyn",
        """
        test "first" {
            assert(true)
        }
        test "explodes" {
            var a = [1, 2, 3]
            var i = 7
            println(a[i])
        }
        test "later" {
            assert(true)
        }
        test "latest" {
            assert(true)
        }
        """,
    )
    result = wyn.run("-rf")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_panic.wyn::explodes - panic: array index out of bounds*",
            "test_panic.wyn:9: not run: the test binary aborted in block 'explodes'",
            "test_panic.wyn:12: not run: the test binary aborted in block 'explodes'",
            "test_panic.wyn:7: panic: array index out of bounds: index 7, length 3",
            "> 7 |     println(a?i?)",
        ]
    )


def test_panic_message_without_a_line(wyn: WynProject) -> None:
    wyn.write("test_p.wyn", 'test "a" {\n    panic("boom")\n}\ntest "b" {\n    assert(true)\n}\n')
    result = wyn.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(["test_p.wyn:1: panic: boom", "*not run: the test binary aborted in block 'a'*"])


def test_compile_failure_fails_every_block_with_one_explanation(wyn: WynProject) -> None:
    wyn.write(
        "test_broken.wyn",
        'test "a" {\n    assert(true)\n}\ntest "b" {\n    assert(missing)\n}\ntest "c" {\n    assert(true)\n}\n',
    )
    result = wyn.run()
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert out.count("Error at line 5: Undefined variable 'missing'") == 1
    assert out.count("the diagnostics are shown under test_broken.wyn::a") == 2
    assert out.count("test_broken.wyn:5: compile error: Undefined variable 'missing'") == 3


def test_block_never_reported_fails(wyn: WynProject, tmp_path: pytest.TempPathFactory) -> None:
    # A compiler whose runner skips blocks: the file changed its mind between collection and run.
    wyn.write("test_a.wyn", 'test "present" {\n    assert(true)\n}\n')
    wyn.ini(
        "wyn_compile_command = sh -c 'sed s/missing/present/ {source} > {source}.tmp.wyn && "
        "{compiler} build {source}.tmp.wyn -o {output}; rc=$?; rm -f {source}.tmp.wyn {source}.tmp.wyn.c; exit $rc'\n"
    )
    wyn.write("test_a.wyn", 'test "present" {\n    assert(true)\n}\ntest "missing" {\n    assert(true)\n}\n')
    result = wyn.run()
    result.assert_outcomes(failed=2)
    # The binary printed `present` twice: one of those lines was not the runner's for that block.
    result.stdout.fnmatch_lines(["*test 'present'*", "*1 more result line(s) for block 'present'*"])
    result.stdout.fnmatch_lines(["*test 'missing'*", "test_a.wyn:4: the test binary never reported this block"])


def test_odd_names_are_escaped_reversibly_and_duplicates_numbered(wyn: WynProject) -> None:
    wyn.write(
        "test_names.wyn",
        r"""
        test "a::b" {
            assert(true)
        }
        test "list[0]" {
            assert(true)
        }
        test " padded " {
            assert(true)
        }
        test "tab\there" {
            assert(true)
        }
        test "say \"hi\" ✓ 🎉" {
            assert(true)
        }
        test "same" {
            assert(true)
        }
        test "same" {
            assert(false)
        }
        """,
    )
    result = wyn.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "test_names.wyn::a:\\x3ab",
            "test_names.wyn::list\\x5b0\\x5d",
            "test_names.wyn::\\x20padded\\x20",
            "test_names.wyn::tab\\there",
            'test_names.wyn::say "hi" ✓ 🎉',
            "test_names.wyn::same",
            "test_names.wyn::same#2",
        ]
    )
    result = wyn.run("-v")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*test_names.wyn::same#2 FAILED*"])
    wyn.run("test_names.wyn::a:\\x3ab").assert_outcomes(passed=1)


def test_parser_is_not_fooled_by_strings_and_comments(wyn: WynProject) -> None:
    wyn.write(
        "test_tricky.wyn",
        r"""
        // test "in a comment" {
        /* test "in a block comment" { } */
        var s = "test \"in a string\" { {{"
        test "real one" {
            var t = "}"
            if true {
                var u = "{ test \"nested\" {"
            }
            assert(true)
        }
        test "with \"escaped\" quotes" {
            assert(true)
        }
        """,
    )
    result = wyn.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["test_tricky.wyn::real one", 'test_tricky.wyn::with "escaped" quotes', "2 tests collected*"]
    )
    wyn.run().assert_outcomes(passed=2)


def test_unparseable_file_is_one_error_and_the_session_goes_on(wyn: WynProject) -> None:
    wyn.write("test_bad.wyn", 'test "a" {\n    assert(true)\n\ntest "b" {\n    var s = "open\n}\n')
    wyn.write("test_good.wyn", 'test "fine" {\n    assert(true)\n}\n')
    result = wyn.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["test_bad.wyn:5: cannot collect: unterminated string literal"])
    assert wyn.compiles() == ["test_good.wyn"]


def test_fn_main_with_blocks_is_a_program_test_with_a_warning(wyn: WynProject) -> None:
    wyn.write("test_main.wyn", 'test "ignored" {\n    assert(false)\n}\n\nfn main() -> int {\n    return 0\n}\n')
    result = wyn.run("-v")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*test_main.wyn::test_main PASSED*",
            "*test_main.wyn:5: WynWarning: this file has fn main, so Wyn ignores its 1 test block(s)*",
        ]
    )


def test_file_directives_apply_to_every_block_and_block_directives_to_one(wyn: WynProject) -> None:
    wyn.write("test_skipped.wyn", '// SKIP: later\ntest "a" {\n    assert(true)\n}\ntest "b" {\n    assert(true)\n}\n')
    wyn.write(
        "test_mixed.wyn",
        """
        // MARK: slow
        test "known bug" {
            // XFAIL: issue 7
            assert(false)
        }
        test "fine" {
            assert(true)
        }
        """,
    )
    wyn.write(
        "test_hang.wyn",
        '// TIMEOUT: 0.5\ntest "a" {\n    assert(true)\n}\ntest "spins" {\n    while true {\n    }\n}\n',
    )
    wyn.ini("markers = slow\n")
    result = wyn.run("-ra")
    result.assert_outcomes(skipped=2, xfailed=1, passed=2, failed=1)
    result.stdout.fnmatch_lines_random(["*test_hang.wyn::spins - timed out after 0.5 s*"])
    wyn.run("-m", "slow").assert_outcomes(xfailed=1, passed=1, deselected=4)
    assert "test_skipped.wyn" not in wyn.compiles()


def test_junit_has_one_testcase_per_block_with_file_and_line(wyn: WynProject) -> None:
    wyn.write("tests/test_math.wyn", MATH)
    wyn.run("--junitxml=report.xml", "-o", "junit_family=xunit1")
    cases = ET.parse(wyn.path / "report.xml").getroot().iter("testcase")
    seen = [(c.get("name"), c.get("file"), c.get("line"), c.find("failure") is not None) for c in cases]
    assert seen == [
        ("adds", "tests/test_math.wyn", "8", False),
        ("adds wrong", "tests/test_math.wyn", "12", True),
        ("neighbour", "tests/test_math.wyn", "17", True),
    ]


def test_ide_style_discovery_and_single_test_run(wyn: WynProject) -> None:
    """What VS Code's and PyCharm's adapters read: nodeid and location, then a run by nodeid."""
    wyn.write("tests/test_math.wyn", MATH)
    wyn.write(
        "conftest.py",
        """
        import json
        def pytest_collection_finish(session):
            with open("discovered.json", "w") as f:
                json.dump([[i.nodeid, *i.location] for i in session.items], f)
        """,
    )
    wyn.run("--collect-only", "-p", "no:xdist")
    found = json.loads((wyn.path / "discovered.json").read_text())
    assert found[1] == ["tests/test_math.wyn::adds wrong", "tests/test_math.wyn", 12, "test 'adds wrong'"]
    result = wyn.run("tests/test_math.wyn::adds wrong", "-p", "no:xdist")
    result.assert_outcomes(failed=1)


def test_pycharm_style_run_through_teamcity_messages(wyn: WynProject) -> None:
    """PyCharm runs pytest with the teamcity-messages reporter and reads its service messages."""
    pytest.importorskip("teamcity", reason="teamcity-messages is a dev dependency")
    wyn.write("tests/test_math.wyn", MATH)
    result = wyn.run("--teamcity", "-p", "no:xdist")
    out = result.stdout.str()
    for name in ("adds", "adds wrong", "neighbour"):
        assert "testStarted timestamp=" in out and f"name='tests.test_math_wyn.{name}'" in out
    failed = [line for line in out.splitlines() if "##teamcity[testFailed" in line]
    assert len(failed) == 2
    assert "assert_eq failed: expected 5, got 4" in failed[0]
