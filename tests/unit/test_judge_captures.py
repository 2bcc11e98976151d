"""The judge on captured output, table-driven and fast (as pytest-cpp tests its facades).

The real-Wyn captures are the outputs of our own test files built with Wyn
v1.20.0 (stdout and stderr in one pipe, as pytest-wyn runs binaries).
"""

from __future__ import annotations

import pytest

from pytest_wyn.engine.judge import judge_blocks, judge_program
from pytest_wyn.engine.process import Completed
from pytest_wyn.engine.spec import parse

# tests "zero" (passes), "one" ({ on the next line; assert fails), "two" (a comment before {; assert_eq fails),
# "three" (prints hi), "four" (blank lines and a block comment before {; prints four)
REAL_BLOCKS_SOURCE = (
    'test "zero" {\n    assert(1 == 1)\n}\ntest "one"\n{\n    assert(1 == 2)\n}\n'
    'test "two" /* note */ {\n    assert_eq(2, 3)\n}\ntest "three" // x\n  {\n    println("hi")\n}\n'
    'test "four"\n\n/* multi\nline */\n{\n    println("four")\n}\n'
)
REAL_BLOCKS_OUTPUT = (
    b"  \x1b[32m\xe2\x9c\x93\x1b[0m zero\n    \x1b[31massert failed\x1b[0m\n  \x1b[31m\xe2\x9c\x97\x1b[0m one\n"
    b"    \x1b[31massert_eq failed\x1b[0m\n      expected: 3\n      got:      2\n  \x1b[31m\xe2\x9c\x97\x1b[0m two\n"
    b"hi\n  \x1b[32m\xe2\x9c\x93\x1b[0m three\nfour\n  \x1b[32m\xe2\x9c\x93\x1b[0m four\n\n"
    b"\x1b[31m3 passed, 2 failed\x1b[0m\n"
)
REAL_PANIC_SOURCE = (
    'test "ok" {\n    println("fine")\n}\ntest "oob" {\n    var a = [1, 2]\n    println(a[5])\n}\n'
    'test "never" {\n    assert(true)\n}\n'
)
REAL_PANIC_OUTPUT = (
    b"fine\n  \x1b[32m\xe2\x9c\x93\x1b[0m ok\npanic at t2.wyn:6: array index out of bounds: index 5, length 2\n"
)


def run(output: bytes, code: int | None = 0, timed_out: bool = False, signal: int | None = None) -> Completed:
    return Completed(code, signal, timed_out, output, 0, 0.01)


@pytest.mark.parametrize(
    ("source", "output", "code", "expected"),
    [
        (
            REAL_BLOCKS_SOURCE,
            REAL_BLOCKS_OUTPUT,
            1,
            [
                (True, ""),
                (False, "assert failed"),
                (False, "assert_eq failed: expected 3, got 2"),
                (True, ""),
                (True, ""),
            ],
        ),
        (
            REAL_PANIC_SOURCE,
            REAL_PANIC_OUTPUT,
            1,
            [
                (True, ""),
                (False, "panic: array index out of bounds: index 5, length 2"),
                (False, "not run: the test binary aborted in block 'oob'"),
            ],
        ),
    ],
    ids=["real-wyn-blocks", "real-wyn-panic"],
)
def test_blocks_from_real_wyn_output(source: str, output: bytes, code: int, expected: list[tuple[bool, str]]) -> None:
    verdicts = judge_blocks(parse(source), run(output, code), 30.0, source)
    assert [(v.passed, v.message) for v in verdicts] == expected


def test_block_output_belongs_to_its_block() -> None:
    verdicts = judge_blocks(parse(REAL_BLOCKS_SOURCE), run(REAL_BLOCKS_OUTPUT, 1), 30.0, REAL_BLOCKS_SOURCE)
    assert verdicts[3].output == "hi\n"
    assert verdicts[4].output == "four\n"


@pytest.mark.parametrize(
    ("source", "output", "code", "passed", "message"),
    [
        ('println("before")\npanic("boom")\n', b"before\nPanic: boom\n", 1, False, "exited 1, expected 0 (panic: boom)"),
        ("// EXPECT: before\nx\n", b"before\nPanic: boom\n", 1, True, ""),  # exit ignored without EXPECT_EXIT
        ("// EXPECT: before\n// EXPECT_EXIT: 0\n", b"before\n", 3, False, "exited 3, expected 0"),
        ("// EXPECT: a\n", b"b\n", 0, False, "output line 1 differs from EXPECT at line 1"),
        ("// EXPECT: a\n// EXPECT:\n// EXPECT: c\n", b"a\n\nc\n", 0, True, ""),
        ("// EXPECT: a  \n", b"a\n", 0, True, ""),  # trailing spaces are not compared
        ("x\n", b"\x1b[32mok\x1b[0m\n", 0, True, ""),
        ("x\n", b"", 139, False, "exited 139, expected 0 (segmentation fault or stack overflow)"),
    ],
)
def test_program_tests(source: str, output: bytes, code: int, passed: bool, message: str) -> None:
    verdict = judge_program(parse(source), run(output, code), 30.0)
    assert (verdict.passed, verdict.message) == (passed, message)


def test_a_timed_out_program_says_how_to_raise_the_limit() -> None:
    verdict = judge_program(parse("x\n"), run(b"", None, timed_out=True), 2.0)
    assert verdict.message == (
        "timed out after 2 s; the test binary and its children were killed "
        "(raise the limit with // TIMEOUT: N in the file, or --wyn-timeout=S)"
    )


WINDOWS_CRASHES = [
    (0xC0000005, b"total: 3\n", "exit 0xc0000005: access violation"),
    (0xC00000FD, b"total: 3\n", "exit 0xc00000fd: stack overflow"),
    (-1073741819, b"total: 3\n", "exit 0xc0000005: access violation"),  # the same status, read as signed
    (0xC0000999, b"total: 3\n", "exit 0xc0000999: an NTSTATUS error"),
    (1, b"total: 3\n\x1b[31mCrash detected\x1b[0m: access violation\n", "Crash detected: access violation"),
]


@pytest.mark.parametrize(("code", "output", "told"), WINDOWS_CRASHES)
def test_a_windows_crash_after_the_expected_output_fails_every_kind_of_test(code: int, output: bytes, told: str) -> None:
    """Issue 27.4: Windows has no signals, so an output test that printed its lines and then crashed passed."""
    output_test = judge_program(parse('println("total: 3")\n// EXPECT: total: 3\n'), run(output, code), 30)
    assert not output_test.passed and output_test.message == f"the test binary crashed ({told})"
    exit_test = judge_program(parse(f"// EXPECT_EXIT: {code}\n"), run(output, code), 30)
    assert not exit_test.passed and "crashed" in exit_test.message
    blocks = judge_blocks(parse('test "a" {\n    assert(true)\n}\n'), run(output, code), 30)
    assert [v.passed for v in blocks] == [False]


def test_an_ordinary_exit_status_is_no_crash() -> None:
    for code in (0, 1, 3, 255, -24):  # -24: a POSIX signal as Python reports it, never an NTSTATUS
        verdict = judge_program(parse(f'println("a")\n// EXPECT: a\n// EXPECT_EXIT: {code}\n'), run(b"a\n", code), 30)
        assert verdict.passed
