"""Only LF ends a line of output or source, as for Wyn's own runner and its lexer (issue 28, points 1 and 2)."""

from __future__ import annotations

import pytest
from conftest import WynProject

from pytest_wyn.engine import formats


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        # A lone CR does not end the line: the expected text is only its first part.
        ('println("total: 3\\rtotal: 4")\n// EXPECT: total: 3\n', "'total: 3\\rtotal: 4'"),
        ('println("a\\rb")\n// EXPECT: a\n// EXPECT: b\n', "'a\\rb'"),
        ('__c("fputs(\\"x\\\\fy\\\\n\\", stdout);")\n// EXPECT: x\n// EXPECT: y\n', "'x\\x0cy'"),
        ('__c("fputs(\\"p\\\\vq\\\\n\\", stdout);")\n// EXPECT: p\n// EXPECT: q\n', "'p\\x0bq'"),
    ],
    ids=["cr-inside-one-expect", "cr-as-two-lines", "form-feed", "vertical-tab"],
)
def test_separators_other_than_lf_stay_inside_the_line_and_are_shown(wyn: WynProject, body: str, shown: str) -> None:
    wyn.write("test_sep.wyn", body)
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*output line 1 differs from EXPECT at line 2*", f"*got:      {shown}"])


def test_crlf_output_still_reads_as_lf_and_a_cr_inside_an_expect_value_matches_itself(wyn: WynProject) -> None:
    wyn.write("test_crlf.wyn", '__c("fputs(\\"one\\\\r\\\\ntwo\\\\r\\\\n\\", stdout);")\n// EXPECT: one\n// EXPECT: two\n')
    (wyn.path / "test_literal.wyn").write_bytes(b'println("a\\rb")\n// EXPECT: a\rb\n')
    wyn.run().assert_outcomes(passed=2)


def test_the_judge_and_the_update_split_output_the_same_way() -> None:
    assert formats.lines_of("a\rb\r\nc\x0cd\x85e\u2028f\n\ng") == ["a\rb", "c\x0cd\x85e\u2028f", "", "g"]
    assert formats.lines_of("") == []
    assert formats.lines_of("x\n") == ["x"]


def test_an_update_never_pins_a_cr_the_judge_would_not_split_on(wyn: WynProject) -> None:
    body = 'println("total: 3\\rtotal: 4")\n// EXPECT: total: 3\n'
    wyn.write("test_cr.wyn", body)
    result = wyn.run("--wyn-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not updated by --wyn-update: output line 1 holds '\\r'*"])
    assert (wyn.path / "test_cr.wyn").read_text() == body


def test_a_file_with_cr_only_line_ends_is_one_line_and_is_never_rewritten(wyn: WynProject) -> None:
    data = b'println("one")\r// EXPECT: one\r// EXPECT: two\rprintln("two")\r'
    path = wyn.path / "test_mac.wyn"
    path.write_bytes(data)
    result = wyn.run("--wyn-update")
    # For Wyn all after the first `//` is one comment: one line printed, and an expectation that cannot hold.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected: 'one\\r// EXPECT: two\\rprintln(\"two\")'", "*got:      'one'"])
    result.stdout.fnmatch_lines(["*not updated by --wyn-update: line 1 holds a lone carriage return (CR)*"])
    assert path.read_bytes() == data
