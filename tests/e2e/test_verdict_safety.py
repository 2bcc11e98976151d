"""Issue 14 (silent wrong verdicts): every failure the binary reports reaches pytest.

Pytester sessions for what a user sees, and table-driven checks of the judge
on captured runner output (which run in milliseconds).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import WynProject

from pytest_wyn.engine.judge import judge_blocks
from pytest_wyn.engine.process import Completed
from pytest_wyn.engine.spec import SpecError, parse, read_source

OK, BAD = "  \x1b[32m\u2713\x1b[0m ", "  \x1b[31m\u2717\x1b[0m "


def summary(passed: int, failed: int) -> str:
    if failed:
        return f"\x1b[31m{passed} passed, {failed} failed\x1b[0m"
    return f"\x1b[32m{passed} tests passed\x1b[0m"


def completed(lines: list[str], code: int = 0) -> Completed:
    return Completed(code, None, False, ("\n".join(lines) + "\n").encode(), 0, 0.01)


TWO_BLOCKS = 'test "first" {\n}\ntest "second" {\n}\n'


def test_block_forms_wyn_accepts_between_name_and_brace_are_collected(wyn: WynProject) -> None:
    wyn.write(
        "tests/test_forms.wyn",
        """
        test "same line" {
            assert(1 == 1)
        }
        test "brace on next line"
        {
            assert(1 == 2)
        }
        test "comment before brace" /* note */ {
            assert_eq(2, 3)
        }
        test "line comment then brace" // why
          {
            assert(1 == 1)
        }
        test "blank lines and a block comment"

        /* several
           lines */
        {
            assert(false)
        }
        """,
    )
    result = wyn.run("-rf", "-v")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "tests/test_forms.wyn::same line PASSED*",
            "tests/test_forms.wyn::brace on next line FAILED*",
            "tests/test_forms.wyn::comment before brace FAILED*",
            "tests/test_forms.wyn::line comment then brace PASSED*",
            "tests/test_forms.wyn::blank lines and a block comment FAILED*",
            "tests/test_forms.wyn:4: assert failed",
            "tests/test_forms.wyn:8: assert_eq failed: expected 3, got 2",
            "tests/test_forms.wyn:15: assert failed",
        ]
    )


def test_a_block_printing_a_later_blocks_result_line_cannot_pass_it(wyn: WynProject) -> None:
    wyn.write(
        "tests/test_forge.wyn",
        """
        test "first" {
            println("  \u2713 second")
            panic("boom")
        }
        test "second" {
            assert(false)
        }
        """,
    )
    result = wyn.run("-rf")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "tests/test_forge.wyn:1: panic: boom",
            "tests/test_forge.wyn:5: not run: the test binary aborted in block 'first'",
        ]
    )


@pytest.mark.parametrize(
    ("lines", "code", "want"),
    [
        # the runner's own, coloured lines in order: trusted
        ([OK + "first", OK + "second", "", summary(2, 0)], 0, [True, True]),
        ([OK + "first", BAD + "second", "", summary(1, 1)], 1, [True, False]),
        # an uncoloured imitation is output, whatever it says
        (["  \u2713 first", "  \u2713 second", "", summary(2, 0)], 0, [False, False]),
        # a coloured imitation of a later block's line, before the earlier block's result: its output
        ([OK + "second", "Panic: boom"], 1, [False, False]),
        # a block the collection did not see: reported on the block that came next
        ([OK + "first", BAD + "hidden", OK + "second", "", summary(2, 1)], 1, [True, False]),
        ([OK + "first", OK + "second", OK + "hidden", "", summary(3, 0)], 0, [True, False]),
        # a summary that disagrees with the result lines
        ([OK + "first", OK + "second", "", summary(1, 1)], 1, [True, False]),
        # every block passed but the binary failed
        ([OK + "first", OK + "second", "", summary(2, 0)], 3, [True, False]),
        # no summary: the binary stopped early
        ([OK + "first", OK + "second"], 0, [True, True]),
    ],
)
def test_judge_trusts_only_the_runners_lines_in_order(lines: list[str], code: int, want: list[bool]) -> None:
    verdicts = judge_blocks(parse(TWO_BLOCKS), completed(lines, code), 30.0, TWO_BLOCKS)
    assert [v.passed for v in verdicts] == want


def test_an_uncollected_block_is_located_at_its_source_line() -> None:
    source = TWO_BLOCKS + 'test "hidden" {\n}\n'
    spec = parse(TWO_BLOCKS)  # as if the parser had missed the third block
    run = completed([OK + "first", OK + "second", BAD + "hidden", "", summary(2, 1)], 1)
    verdicts = judge_blocks(spec, run, 30.0, source)
    assert verdicts[1].passed is False
    assert verdicts[1].message == "the test binary ran a block named 'hidden' that pytest-wyn did not collect"
    assert verdicts[1].line == 5


def test_missing_summary_after_all_blocks_is_not_trusted_when_the_exit_is_bad() -> None:
    run = completed([OK + "first", OK + "second"], 1)
    verdicts = judge_blocks(parse(TWO_BLOCKS), run, 30.0, TWO_BLOCKS)
    assert [v.passed for v in verdicts] == [True, True]  # both reported; the summary check needs a summary


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_wyn_cc_found_on_path_is_keyed_by_the_executable_it_resolves_to(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(wyn.path / "one" / "mycc", 'exec cc -DWYN_CC_FLAG=1 "$@"\n')
    _script(wyn.path / "two" / "mycc", 'exec cc -DWYN_CC_FLAG=2 "$@"\n')
    wyn.write("test_flag.wyn", '__c("exit(WYN_CC_FLAG == 1 ? 0 : 3);")\n')
    monkeypatch.setenv("WYN_CC", "mycc")
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{wyn.path / 'one'}:{path}")
    wyn.run().assert_outcomes(passed=1)
    monkeypatch.setenv("PATH", f"{wyn.path / 'two'}:{path}")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exited 3, expected 0*"])
    assert len(wyn.compiles()) == 2


def test_a_c_compiler_killed_by_the_host_is_retried_and_never_cached(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # gcc's -wrapper runs cc1 through a script that SIGKILLs itself the first time, as the OOM killer would.
    marker = tmp_path / "killed-once"
    wrapper = _script(
        tmp_path / "kill-cc1-once",
        f'case "$1" in */cc1) if [ ! -e {marker} ]; then : > {marker}; kill -9 $$; fi ;; esac\nexec "$@"\n',
    )
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc for -wrapper")
    monkeypatch.setenv("WYN_CC", f"gcc -wrapper {wrapper}")
    # The first level's retry, alone: with the second level a warm C store would serve the compile, and
    # its preprocessing run would take the kill (test_compiler_loop.py covers a host failure there).
    monkeypatch.setenv("PYTEST_WYN_C_CACHE", "0")
    wyn.write("test_a.wyn", '// EXPECT: hello\nprintln("hello")\n')
    result = wyn.run("-rA")
    result.assert_outcomes(passed=1)
    assert marker.exists()
    result.stdout.fnmatch_lines(["*1 build(s) retried for host reasons*"])
    assert len(wyn.compiles()) == 2


def test_a_host_killed_compile_that_keeps_failing_is_not_replayed_from_the_cache(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sick = tmp_path / "host-is-sick"
    sick.touch()
    wrapper = _script(
        tmp_path / "kill-cc1", f'case "$1" in */cc1) if [ -e {sick} ]; then kill -9 $$; fi ;; esac\nexec "$@"\n'
    )
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc for -wrapper")
    monkeypatch.setenv("WYN_CC", f"gcc -wrapper {wrapper}")
    wyn.ini("wyn_compile_retries = 1\n")
    wyn.write("test_a.wyn", '// EXPECT: hello\nprintln("hello")\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*host resources ran out: Killed signal terminated program*"])
    # The machine is healthy again (same compiler, same wrapper, same key): the failure is not replayed.
    sick.unlink()
    wyn.run().assert_outcomes(passed=1)


def test_expect_lines_in_a_block_file_are_checked_as_one_more_item(wyn: WynProject) -> None:
    body = 'test "globals" {\n    assert_eq(1, 1)\n    println("%s")\n}\n\n// EXPECT: globals ok\n'
    wyn.write("test_mixed.wyn", body % "globals ok")
    result = wyn.run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_mixed.wyn::globals PASSED*", "*test_mixed.wyn::EXPECT PASSED*"])
    items, _ = wyn.pytester.inline_genitems("-n0")
    assert [(i.name, i.location[1] + 1) for i in items] == [("globals", 1), ("EXPECT", 6)]
    wyn.write("test_mixed.wyn", body % "globals changed")
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected: 'globals ok'",
            "*got:      'globals changed'",
            "test_mixed.wyn:6: output line 1 differs from EXPECT at line 6",
        ]
    )
    assert "ignored" not in result.stdout.str()


def test_directives_inside_blocks_belong_to_their_block() -> None:
    spec = parse(
        "// MARK: everywhere\n"
        + "".join(f'test "b{n}" {{\n    // MARK: m{n}\n}}\n' for n in range(300))
        + "// SKIP: at the end\n"
    )
    assert [d.value for d in spec.directives_for(None)] == ["everywhere", "at the end"]
    assert [d.value for d in spec.directives_for(123)] == ["everywhere", "at the end", "m123"]
    assert [d.value for d in spec.directives_for(0)] == ["everywhere", "at the end", "m0"]


def test_fifos_and_devices_named_like_tests_never_block_or_exhaust_memory(wyn: WynProject) -> None:
    os.mkfifo(wyn.path / "test_fifo.wyn")
    (wyn.path / "test_zero.wyn").symlink_to("/dev/zero")
    wyn.write("test_ok.wyn", "fn main() -> int {\n    return 0\n}\n")
    for args in ((), ("-n", "0"), ("-n", "2")):
        # Found in a directory: pytest itself collects regular files only; the forecast must not read them either.
        result = wyn.run_subprocess(*args, timeout=120)
        result.assert_outcomes(passed=1)
        # Named on the command line: pytest's own "not found", at once (xdist's workers say it to no one).
        result = wyn.run_subprocess(*args, "test_fifo.wyn", "test_zero.wyn", timeout=120)
        if args == ("-n", "2"):
            assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
        else:
            assert result.ret == pytest.ExitCode.USAGE_ERROR
            result.stderr.fnmatch_lines(["ERROR: not found: */test_fifo.wyn", "ERROR: not found: */test_zero.wyn"])
        assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_reading_a_source_is_bounded_and_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.wyn")
    with pytest.raises(SpecError, match=r"not a regular file \(a FIFO\)"):
        read_source(tmp_path / "fifo.wyn")
    with pytest.raises(SpecError, match=r"not a regular file \(a character device\)"):
        read_source("/dev/zero")
    big = tmp_path / "big.wyn"
    big.write_bytes(b"x" * 101)
    with pytest.raises(SpecError, match="101 bytes, over the limit of 100"):
        read_source(big, limit=100)
    assert read_source(big, limit=101) == b"x" * 101
