"""Issue 9: Wyn items under the pytest plugins people already run, installed for real.

Each test drives the real plugin (from the `dev` extra) over real `.wyn` files
with the stand-in toolchain, and checks what its users rely on.
"""

from __future__ import annotations

import os

import pytest
from conftest import WynProject, processes_with, wait_until

# A program test that fails the first time and passes after: it leaves a marker file.
FLAKY = (
    '__c("FILE *log = fopen(getenv(\\"WYN_RUNS\\"), \\"a\\"); fputs(\\"run\\\\n\\", log); fclose(log);")\n'
    '__c("FILE *m = fopen(getenv(\\"WYN_MARK\\"), \\"r\\"); if (!m) { m = fopen(getenv(\\"WYN_MARK\\"), \\"w\\"); '
    'fclose(m); exit(1); } fclose(m);")\n'
    'println("second time lucky")\n'
)


@pytest.fixture
def marks(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> WynProject:
    monkeypatch.setenv("WYN_RUNS", str(wyn.path / "runs.log"))
    monkeypatch.setenv("WYN_MARK", str(wyn.path / "mark"))
    return wyn


def runs(wyn: WynProject) -> int:
    log = wyn.path / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_rerunfailures_runs_the_binary_again_from_the_cached_compile(marks: WynProject) -> None:
    marks.write("test_flaky.wyn", FLAKY)
    result = marks.run("--reruns", "2", "-rA", "-v")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    assert runs(marks) == 2
    assert len(marks.compiles()) == 1
    result.stdout.fnmatch_lines(
        ["*test_flaky.wyn::test_flaky RERUN*", "*test_flaky.wyn::test_flaky PASSED*", "second time lucky"]
    )


def test_rerunning_one_block_reruns_the_file_once(marks: WynProject) -> None:
    marks.write(
        "test_blocks.wyn",
        'test "steady" {\n    assert(true)\n}\n'
        'test "flaky" {\n'
        '    __c("FILE *log = fopen(getenv(\\"WYN_RUNS\\"), \\"a\\"); fputs(\\"run\\\\n\\", log); fclose(log);")\n'
        '    __c("FILE *m = fopen(getenv(\\"WYN_MARK\\"), \\"r\\"); if (!m) { m = fopen(getenv(\\"WYN_MARK\\"), \\"w\\"); '
        'fclose(m); wyn_fail_count++; } else { fclose(m); }")\n'
        "}\n",
    )
    result = marks.run("--reruns", "2", "-v")
    assert result.parseoutcomes() == {"passed": 2, "rerun": 1}
    assert runs(marks) == 2  # one run for both blocks, one for the rerun of "flaky"
    assert len(marks.compiles()) == 1


def test_pytest_repeat_runs_every_repetition(marks: WynProject) -> None:
    marks.write("test_flaky.wyn", FLAKY)
    result = marks.run("-p", "repeat", "--count", "3")
    outcomes = result.parseoutcomes()
    assert runs(marks) == outcomes.get("passed", 0) + outcomes.get("failed", 0)


@pytest.mark.parametrize("method", ["signal", "thread"])
def test_pytest_timeout_kills_the_binary_and_reports_the_interruption_once(wyn: WynProject, method: str) -> None:
    tag = f"spin{os.getpid()}{method}"
    wyn.write(
        f"test_{tag}.wyn",
        'test "quick" {\n    assert(true)\n}\ntest "hangs" {\n    while true {\n    }\n}\n',
    )
    result = wyn.run_subprocess("-n0", "--timeout=2", f"--timeout-method={method}", "-p", "no:cacheprovider")
    # The binary (named after the file) must not outlive pytest, whatever way pytest-timeout ends the run.
    assert wait_until(lambda: processes_with(tag) == [], 5), processes_with(tag)
    if method == "signal":
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(
            [
                "*Timeout*",
                "*not run: this file's test binary was interrupted while quick ran (Timeout*",
            ]
        )
    else:
        assert "Timeout" in result.stdout.str() + result.stderr.str()
    # The next run is correct: nothing stale from the interrupted one.
    wyn.write(f"test_{tag}.wyn", 'test "quick" {\n    assert(true)\n}\ntest "hangs" {\n    assert(false)\n}\n')
    wyn.run().assert_outcomes(passed=1, failed=1)


def test_a_cold_compile_interrupted_by_pytest_timeout_is_not_restarted_per_block(wyn: WynProject) -> None:
    wyn.write("test_slow.wyn", 'test "a" {\n    assert(true)\n}\ntest "b" {\n    assert(true)\n}\n')
    wyn.monkeypatch.setenv("WYN_STANDIN_DELAY", "5")
    result = wyn.run_subprocess("-n0", "--timeout=1", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    assert len(wyn.compiles()) == 1  # the one compile was started once, killed, and not started again
    assert not list(wyn.path.glob("*.wyn.c"))
    result.stdout.fnmatch_lines(["*not run: this file's test binary was interrupted while a ran*"])
