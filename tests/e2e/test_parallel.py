"""Issue 5: parallel by default through xdist, one file per worker, no spurious failures."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import STANDIN, WynProject

from pytest_wyn.engine.defaults import usable_cpus
from pytest_wyn.engine.record import FileCosts
from pytest_wyn.workers.plan import DEFAULT_WORKER_STARTUP, plan_workers, work_of

HELLO = '// EXPECT: hello\nprintln("hello")\n'


def workers_line(out: str) -> str | None:
    m = re.search(r"created: (\d+)/\d+ workers?", out)
    return m.group(1) if m else None


def three_files(wyn: WynProject) -> None:
    for n in range(3):
        wyn.write(f"test_{n}.wyn", HELLO)


def no_run_ahead(wyn: WynProject, extra: str = "") -> None:
    """One process runs strictly serially: workers are then worth starting for several compiles."""
    wyn.ini("wyn_run_ahead = false\n" + extra)


def test_the_default_worker_count_is_the_plan_for_this_machine(wyn: WynProject) -> None:
    for n in range(14):
        wyn.write(f"test_{n}.wyn", HELLO)
    no_run_ahead(wyn)
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=14)
    cores = usable_cpus()
    expected = plan_workers(work_of([f"test_{n}.wyn" for n in range(14)], {f"test_{n}.wyn" for n in range(14)}, {}),
                            cores, 12, False, DEFAULT_WORKER_STARTUP)  # fmt: skip
    assert expected >= 2
    assert workers_line(result.stdout.str()) == str(expected)


def test_workers_follow_the_forecast_of_cache_misses(wyn: WynProject) -> None:
    three_files(wyn)
    no_run_ahead(wyn)
    result = wyn.run_subprocess()
    assert workers_line(result.stdout.str()) is not None  # three files to compile: workers pay
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=3)
    assert workers_line(result.stdout.str()) is None  # all cached: serial, no worker start-up
    wyn.write("test_0.wyn", HELLO + "\n")
    result = wyn.run_subprocess()
    assert workers_line(result.stdout.str()) is None  # one compile: a worker cannot pay for itself
    # Two compiles the record says are slow: two workers pay for their start-up.
    wyn.record_compile_seconds(3.0)
    wyn.write("test_0.wyn", HELLO + "\n\n")
    wyn.write("test_1.wyn", HELLO + "\n")
    result = wyn.run_subprocess()
    assert workers_line(result.stdout.str()) == "2"


def test_wyn_workers_is_the_ceiling(wyn: WynProject) -> None:
    for n in range(14):
        wyn.write(f"test_{n}.wyn", HELLO)
    no_run_ahead(wyn, "wyn_workers = 1\n")
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=14)
    assert workers_line(result.stdout.str()) is None


def test_with_run_ahead_a_wyn_suite_needs_no_workers(wyn: WynProject) -> None:
    for n in range(6):
        wyn.write(f"test_{n}.wyn", HELLO)
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=6)
    assert workers_line(result.stdout.str()) is None


@pytest.mark.parametrize(
    ("cores", "files", "cached", "run_ahead", "expected"),
    [
        (16, 200, False, False, 12),  # a big cold suite on a big machine: the ceiling
        (2, 200, False, False, 2),  # on two cores, more workers only cost start-up
        (2, 200, True, False, 0),  # warm: nothing to compile, a worker cannot pay for itself
        (2, 1, False, False, 0),  # one compile: no worker
        (16, 200, False, True, 0),  # one process running ahead overlaps the same work for free
    ],
)
def test_the_plan_minimises_predicted_wall_time(
    cores: int, files: int, cached: bool, run_ahead: bool, expected: int
) -> None:
    names = [f"t{n}.wyn" for n in range(files)]
    record = {n: FileCosts(1.2, 0, 0, 0.001, 0.001) for n in names}
    work = work_of(names, set() if cached else set(names), record)
    assert plan_workers(work, cores, 12, run_ahead, DEFAULT_WORKER_STARTUP) == expected


def test_usual_escapes_run_serially(wyn: WynProject) -> None:
    three_files(wyn)
    for args in (["-n", "0"], ["-p", "no:xdist"], ["--pdb"]):
        result = wyn.run_subprocess(*args)
        result.assert_outcomes(passed=3)
        assert workers_line(result.stdout.str()) is None, args
    result = wyn.run_subprocess("--collect-only", "-q")
    assert workers_line(result.stdout.str()) is None
    assert "3 tests collected" in result.stdout.str()


def test_explicit_user_choice_wins(wyn: WynProject) -> None:
    three_files(wyn)
    result = wyn.run_subprocess("-n", "3")
    result.assert_outcomes(passed=3)
    assert workers_line(result.stdout.str()) == "3"


def test_small_selection_does_not_start_twelve_workers(wyn: WynProject) -> None:
    three_files(wyn)
    no_run_ahead(wyn)
    result = wyn.run_subprocess("test_0.wyn", "test_1.wyn")
    result.assert_outcomes(passed=2)
    assert workers_line(result.stdout.str()) == "2"
    result = wyn.run_subprocess("test_2.wyn")
    result.assert_outcomes(passed=1)
    assert workers_line(result.stdout.str()) is None
    result = wyn.run_subprocess("test_2.wyn::test_2", "--wyn-no-cache")
    assert workers_line(result.stdout.str()) is None


def test_ide_worker_cap_is_honoured(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(14):
        wyn.write(f"test_{n}.wyn", HELLO)
    no_run_ahead(wyn)
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "1")
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=14)
    assert workers_line(result.stdout.str()) == "1"


def test_items_of_a_file_share_one_worker_compile_and_run(wyn: WynProject) -> None:
    blocks = "".join(f'test "b{n}" {{\n    assert(true)\n}}\n' for n in range(6))
    log = '__c("FILE *f = fopen(\\"runs.log\\", \\"a\\"); fputs(\\"run\\\\n\\", f); fclose(f);")\n'
    wyn.write("test_blocks.wyn", log + blocks)
    for n in range(4):
        wyn.write(f"test_p{n}.wyn", HELLO)
    result = wyn.run_subprocess("-n", "3", "-v")
    result.assert_outcomes(passed=10)
    workers = set(re.findall(r"\[(gw\d+)\] \[\s*\d+%\] PASSED test_blocks.wyn::", result.stdout.str()))
    assert len(workers) == 1, result.stdout.str()
    assert (wyn.path / "runs.log").read_text() == "run\n"
    assert sorted(wyn.compiles()).count("test_blocks.wyn") == 1
    assert "::" not in "".join(re.findall(r"test_blocks.wyn::\S+@", result.stdout.str()))  # no xdist_group suffix


def test_summary_is_printed_once_and_combines_workers(wyn: WynProject) -> None:
    for n in range(4):
        wyn.write(f"test_{n}.wyn", HELLO)
    result = wyn.run_subprocess("-n", "2")
    out = result.stdout.str()
    assert out.count("compiled 4 file(s)") == 1
    result = wyn.run_subprocess("-n", "2")
    assert result.stdout.str().count("compiled 0 file(s) in 0.0 s, 4 from the cache") == 1


def test_workers_take_likely_misses_and_slow_compiles_first_serial_runs_keep_collection_order(
    wyn: WynProject,
) -> None:
    for name in ("a", "b", "c", "d"):
        wyn.write(f"test_{name}.wyn", HELLO)
    wyn.run("-v").assert_outcomes(passed=4)
    wyn.write("test_c.wyn", HELLO + "\n")  # changed since the last session: probably a miss
    wyn.write("test_e.wyn", HELLO)  # new: certainly a miss
    result = wyn.run_subprocess("-n", "1", "-v")
    order = re.findall(r"PASSED (test_\w)\.wyn::", result.stdout.str())
    assert set(order[:2]) == {"test_c", "test_e"}, order
    assert set(order[2:]) == {"test_a", "test_b", "test_d"}
    # Among likely hits, the longest recorded compile goes first.
    record_file = wyn.path / ".pytest_cache" / "v" / "wyn" / "files"
    record = json.loads(record_file.read_text())
    for name, seconds in (("a", 0.1), ("b", 9.0), ("c", 3.0), ("d", 0.2), ("e", 5.0)):
        record[f"test_{name}.wyn"]["compile_seconds"] = seconds
    record_file.write_text(json.dumps(record))
    result = wyn.run_subprocess("-n", "1", "-v")
    order = re.findall(r"PASSED (test_\w)\.wyn::", result.stdout.str())
    assert order == ["test_b", "test_e", "test_c", "test_d", "test_a"]
    # One process: the order pytest collected, whatever the record says.
    result = wyn.run("-v")
    order = re.findall(r"^(test_\w)\.wyn::", result.stdout.str(), re.MULTILINE)
    assert order == ["test_a", "test_b", "test_c", "test_d", "test_e"]


def test_failed_first_still_wins(wyn: WynProject) -> None:
    for name in ("a", "b", "c"):
        wyn.write(f"test_{name}.wyn", HELLO)
    wyn.write("test_b.wyn", '// EXPECT: hello\nprintln("nope")\n')
    wyn.run()
    result = wyn.run("--ff", "-v")
    order = re.findall(r"^(test_\w)\.wyn::", result.stdout.str(), re.MULTILINE)
    assert order[0] == "test_b"


def test_host_resource_failures_are_retried_visibly(wyn: WynProject, tmp_path: Path) -> None:
    state = tmp_path / "failed-once"
    flaky = tmp_path / "flaky.sh"
    flaky.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = build ] && [ ! -e {state} ]; then touch {state}; '
        "echo 'fork: Resource temporarily unavailable' >&2; exit 1; fi\n"
        f'exec {sys.executable} {STANDIN} "$@"\n'
    )
    flaky.chmod(0o755)
    wyn.write("test_a.wyn", HELLO)
    result = wyn.run(f"--wyn-compiler={flaky}", "--junitxml=out.xml", "-o", "junit_family=xunit1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 build(s) retried for host reasons*"])
    assert 'name="wyn_compile_retries" value="1"' in (wyn.path / "out.xml").read_text()


def test_real_diagnostics_are_never_retried(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", "println(nope)\n")
    wyn.run().assert_outcomes(failed=1)
    assert wyn.compiles() == ["test_a.wyn"]


def test_run_timeout_does_not_count_the_compile(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "1.5")
    wyn.write("test_a.wyn", HELLO)
    wyn.run("--wyn-timeout=0.5").assert_outcomes(passed=1)


def test_compile_timeout_is_separate_and_configurable(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_STANDIN_CRASH", "hang")
    wyn.write("test_a.wyn", HELLO)
    result = wyn.run("--wyn-compile-timeout=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the compiler did not finish within 1 s (wyn_compile_timeout) and was killed*"])


@pytest.mark.slow
def test_fifty_workers_on_two_cores_fail_nothing(wyn: WynProject) -> None:
    for n in range(30):
        if n % 3 == 0:
            wyn.write(
                f"test_{n}.wyn",
                f'test "a{n}" {{\n    assert_eq({n} + 1, {n + 1})\n}}\ntest "b{n}" {{\n    assert(true)\n}}\n',
            )
        elif n % 3 == 1:
            wyn.write(f"test_{n}.wyn", f"// EXPECT: {n}\nprintln({n})\n")
        else:
            wyn.write(f"test_{n}.wyn", "fn main() -> int {\n    return 0\n}\n")
    result = wyn.run_subprocess("-n", "50", "--wyn-no-cache", timeout=600)
    result.assert_outcomes(passed=40)


def _warm_then_change(wyn: WynProject, names: list[str]) -> None:
    for name in names:
        wyn.write(f"test_{name}.wyn", HELLO)
    wyn.run_subprocess("-n", "0").assert_outcomes(passed=len(names))
    for name in names:
        wyn.write(f"test_{name}.wyn", HELLO + "\n")  # every file changed: every one a miss


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "test_a"],
        ["-m", "slowpoke"],
        ["--deselect", "test_b.wyn::test_b", "--deselect", "test_c.wyn::test_c"],
        ["--ignore-glob", "*test_[bc].wyn"],
        ["--ignore", "test_b.wyn", "--ignore", "test_c.wyn"],
        ["test_a.wyn::test_a", "test_a.wyn", "./test_a.wyn::test_a", "test_a.wyn::test_a"],
    ],
)
def test_the_forecast_counts_only_what_the_command_line_selects(wyn: WynProject, args: list[str]) -> None:
    no_run_ahead(wyn, "markers = slowpoke\n")
    _warm_then_change(wyn, ["a", "b", "c"])
    wyn.write("test_a.wyn", "// MARK: slowpoke\n" + HELLO)
    result = wyn.run_subprocess(*args)
    assert workers_line(result.stdout.str()) is None, result.stdout.str()  # one file to compile: serial
    assert result.ret == 0
    assert set(re.findall(r"^(test_\w)\.wyn", result.stdout.str(), re.MULTILINE)) == {"test_a"}


def test_the_forecast_skips_skipped_files_and_collect_ignore(wyn: WynProject) -> None:
    no_run_ahead(wyn)
    _warm_then_change(wyn, ["a", "b", "c", "d"])
    wyn.write("test_b.wyn", "// SKIP: not today\n" + HELLO)
    wyn.write("test_c.wyn", "// SKIP: nor this\n" + HELLO)
    wyn.write("conftest.py", 'collect_ignore = ["test_d.wyn"]\n')
    result = wyn.run_subprocess()
    result.assert_outcomes(passed=1, skipped=2)
    assert workers_line(result.stdout.str()) is None


def test_the_worker_start_up_cost_is_measured_here_and_used_next_time(wyn: WynProject) -> None:
    for n in range(14):
        wyn.write(f"test_{n}.wyn", HELLO)
    no_run_ahead(wyn)
    wyn.run_subprocess("-n", "2").assert_outcomes(passed=14)
    measured_file = wyn.path / ".pytest_cache" / "v" / "wyn" / "workers"
    measured = json.loads(measured_file.read_text())["startup_cpu"]
    assert 0.01 < measured < 60  # CPU seconds from a worker's start to its session's
    names = [f"test_{n}.wyn" for n in range(14)]
    for startup in (500.0, 0.05):  # a project whose workers start slowly, then quickly
        measured_file.write_text(json.dumps({"startup_cpu": startup}))
        saved = json.loads((wyn.path / ".pytest_cache" / "v" / "wyn" / "files").read_text())
        record = {name: costs for name, data in saved.items() if (costs := FileCosts.from_json(data)) is not None}
        expected = plan_workers(work_of(names, set(names), record), usable_cpus(), 12, False, startup)
        result = wyn.run_subprocess("--wyn-cache-clear")  # cold: every file compiles
        result.assert_outcomes(passed=14)
        assert workers_line(result.stdout.str()) == (str(expected) if expected else None)
        assert (expected == 0) == (startup == 500.0)
