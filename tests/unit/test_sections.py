"""Issue 30.5: every report section of a Wyn test comes from one producer (engine/sections.py)."""

from __future__ import annotations

from pytest_wyn.engine.results import BuildResult, FileOutcome
from pytest_wyn.engine.sections import item_sections


def outcome(build: BuildResult | None, **changes: object) -> FileOutcome:
    return FileOutcome(build, None, (), 1.0, **changes)  # type: ignore[arg-type]


def titles(sections: list[tuple[str, str]]) -> list[str]:
    return [title for title, _ in sections]


def test_a_clean_build_shows_only_what_the_test_printed() -> None:
    built = outcome(BuildResult(True, command=("wyn", "build", "t.wyn")), outputs=("a\n", ""))
    assert item_sections(built, 0, 0, False) == [("stdout", "a\n")]
    assert item_sections(built, 1, 0, False) == []  # printed nothing: no section
    assert item_sections(built, 5, 0, False) == []  # no output recorded for that item


def test_every_section_in_its_one_order() -> None:
    build = BuildResult(True, diagnostics="Building t.wyn\nWarning: unused x\n", command=("wyn", "build", "t.wyn"), cached=True)
    everything = outcome(build, outputs=("out\n",), kept_binary="kept as t\n", waited_before_rerun=1.5)
    sections = item_sections(everything, 0, 2, True)
    assert titles(sections) == ["wyn compile", "wyn binary", "wyn run-ahead", "wyn build", "stdout"]
    assert sections[0][1] == "Warning: unused x\n"  # less the progress line
    assert "after waiting 1.50 s for a CPU" in sections[2][1]
    assert sections[3][1] == "wyn build t.wyn\n(from the cache)\n"
    assert titles(item_sections(everything, 0, 1, False)) == ["wyn compile", "wyn binary", "wyn run-ahead", "stdout"]


def test_a_failed_compile_shows_its_other_output_only_where_asked() -> None:
    failed = outcome(BuildResult(False, diagnostics="Building t.wyn\nError: no\nCompilation failed\n"))
    assert "wyn compile" not in titles(item_sections(failed, 0, 0, True))  # its diagnostics are the failure itself
    shown = item_sections(failed, 0, 0, True)
    assert titles(shown) == ["wyn compile output"]
    assert shown[0][1] == "Building t.wyn\nCompilation failed"  # the error itself is in the failure
    assert item_sections(failed, 1, 0, False) == []  # the file's other tests: said once


def test_no_build_no_build_sections() -> None:
    assert item_sections(outcome(None), 0, 3, True) == []
