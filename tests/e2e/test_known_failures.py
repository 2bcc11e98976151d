"""Known-failure lists (issue 29), as Wyn's stdlib runner reads tests/stdlib/known_failures.txt."""

from __future__ import annotations

import pytest
from conftest import WynProject

LIST = """\
# the debt list: it must only ever shrink
test_fails.wyn fail
test_hangs.wyn hang   # killed by the watchdog
test_crashes.wyn fail
test_fixed.wyn flaky
"""


def test_a_listed_test_is_an_expected_failure_however_it_ends(wyn: WynProject) -> None:
    wyn.write("tests/stdlib/known_failures.txt", LIST)
    wyn.ini("wyn_known_failures = tests/stdlib/known_failures.txt\n")
    wyn.write("tests/stdlib/test_fails.wyn", "assert(false)\n")
    wyn.write("tests/stdlib/test_hangs.wyn", "// TIMEOUT: 1\nwhile true {\n}\n")
    wyn.write("tests/stdlib/test_crashes.wyn", '__c("raise(SIGSEGV);")\n')
    wyn.write("tests/stdlib/test_fixed.wyn", "assert(true)\n")
    wyn.write("tests/stdlib/test_new_bug.wyn", "assert(false)\n")
    result = wyn.run("-rxX")
    result.assert_outcomes(xfailed=3, xpassed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*XFAIL tests/stdlib/test_crashes.wyn::test_crashes - tests/stdlib/known_failures.txt: fail*",
            "*XFAIL tests/stdlib/test_hangs.wyn::test_hangs - tests/stdlib/known_failures.txt: hang*",
            "*XPASS tests/stdlib/test_fixed.wyn::test_fixed - tests/stdlib/known_failures.txt: flaky*",
        ]
    )


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("test_a.wyn broken\n", "tests/known.txt:1: expected `<filename> <fail|hang|flaky>`, not 'test_a.wyn broken'"),
        (None, "wyn_known_failures: cannot read tests/known.txt"),
    ],
)
def test_a_bad_list_is_a_usage_error_naming_its_line(wyn: WynProject, text: str | None, told: str) -> None:
    if text is not None:
        wyn.write("tests/known.txt", text)
    wyn.ini("wyn_known_failures = tests/known.txt\n")
    wyn.write("test_a.wyn", "assert(true)\n")
    result = wyn.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert told in result.stderr.str()
