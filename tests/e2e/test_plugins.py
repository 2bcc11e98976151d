"""Issue 9: Wyn items under the pytest plugins people already run, installed for real.

Each test drives the real plugin (from the `dev` extra) over real `.wyn` files
with the stand-in toolchain, and checks what its users rely on.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import WynProject, processes_with, wait_until

pytestmark = pytest.mark.all_plugins  # every installed plugin loads, as in a user's venv

PASSING_PROGRAM = "fn main() -> int {\n    return 0\n}\n"

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


def test_pytest_repeat_leaves_wyn_items_alone_as_it_does_doctests(marks: WynProject) -> None:
    # pytest-repeat repeats by parametrizing Python test functions; other items run once.
    marks.write("test_flaky.wyn", FLAKY)
    result = marks.run("-p", "repeat", "--count", "3")
    result.assert_outcomes(failed=1)
    assert runs(marks) == 1


def test_any_plugin_that_runs_the_protocol_again_runs_the_binary_again(marks: WynProject) -> None:
    marks.write("test_flaky.wyn", FLAKY)
    marks.write(
        "conftest.py",
        "import pytest\n"
        "from _pytest.runner import runtestprotocol\n\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_runtest_protocol(item, nextitem):\n"
        "    for _ in range(2):\n"
        "        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)\n"
        "        runtestprotocol(item, nextitem=nextitem, log=True)\n"
        "    return True\n",
    )
    result = marks.run()
    result.assert_outcomes(passed=1, failed=1)  # the first run failed, the second passed
    assert runs(marks) == 2
    assert len(marks.compiles()) == 1


@pytest.mark.parametrize("serial", [True, False], ids=["n0", "run-ahead"])
@pytest.mark.parametrize("method", ["signal", "thread"])
def test_pytest_timeout_kills_the_binary_and_reports_the_interruption_once(
    wyn: WynProject, method: str, serial: bool
) -> None:
    tag = f"spin{os.getpid()}{method}{serial}"
    wyn.write(
        f"test_{tag}.wyn",
        'test "quick" {\n    assert(true)\n}\ntest "hangs" {\n    while true {\n    }\n}\n',
    )
    mode = ["-n0"] if serial else []
    result = wyn.run_subprocess(*mode, "--timeout=2", f"--timeout-method={method}", "-p", "no:cacheprovider")
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


def _ran(out: str) -> list[str]:
    return re.findall(r"^(\S+\.wyn::\S+) (?:PASSED|FAILED)", out, re.MULTILINE)


def test_pytest_split_groups_in_one_checkout_cover_every_test_once(wyn: WynProject) -> None:
    for f in range(5):
        blocks = "".join(f'test "t{b}" {{\n    assert(true)\n}}\n' for b in range(5))
        wyn.write(f"test_{f}.wyn", blocks)
    wyn.write("test_0.wyn", (wyn.path / "test_0.wyn").read_text() + "\n")  # a changed file, as in real use
    seen: list[str] = []
    for group in (1, 2, 3):
        result = wyn.run("--splits", "3", "--group", str(group), "-v")
        seen += _ran(result.stdout.str())
    assert len(seen) == 25
    assert len(set(seen)) == 25


def test_stepwise_resumes_at_the_failing_test(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING_PROGRAM)
    wyn.write("test_b.wyn", '// EXPECT: good\nprintln("bad")\n')
    wyn.write("test_c.wyn", PASSING_PROGRAM)
    first = wyn.run("--sw", "-v")
    assert _ran(first.stdout.str()) == ["test_a.wyn::test_a", "test_b.wyn::test_b"]
    wyn.write("test_b.wyn", '// EXPECT: good\nprintln("good")\n')
    second = wyn.run("--sw", "-v")
    assert _ran(second.stdout.str()) == ["test_b.wyn::test_b", "test_c.wyn::test_c"]
    second.assert_outcomes(passed=2, deselected=1)


def test_python_tests_of_a_mixed_suite_spread_over_workers_as_with_dist_load(wyn: WynProject) -> None:
    wyn.write("test_blocks.wyn", "".join(f'test "b{n}" {{\n    assert(true)\n}}\n' for n in range(4)))
    wyn.write("test_py.py", "import time\n\n" + "".join(f"def test_{n}():\n    time.sleep(0.3)\n\n" for n in range(8)))
    result = wyn.run_subprocess("-n", "2", "-v")
    result.assert_outcomes(passed=12)
    out = result.stdout.str()
    py_workers = set(re.findall(r"\[(gw\d)\] .*PASSED test_py\.py", out))
    wyn_workers = set(re.findall(r"\[(gw\d)\] .*PASSED test_blocks\.wyn", out))
    assert py_workers == {"gw0", "gw1"}, out
    assert len(wyn_workers) == 1, out  # a Wyn file stays whole: one compile, one run
    assert "scheduling tests via WynScheduling" in wyn.run_subprocess("-n", "2", "-v", "-v").stdout.str()


def test_users_dist_choice_is_kept(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING_PROGRAM)
    result = wyn.run_subprocess("-n", "2", "--dist", "loadfile", "-v", "-v")
    result.assert_outcomes(passed=1)
    assert "scheduling tests via LoadFileScheduling" in result.stdout.str()


@pytest.mark.parametrize("warm", [False, True])
def test_a_binary_that_kills_its_worker_is_reported_once_and_the_run_goes_on(wyn: WynProject, warm: bool) -> None:
    wyn.write(
        "test_killer.wyn",
        'test "k1" {\n    __c("kill(getppid(), SIGKILL);")\n}\n'
        'test "k2" {\n    assert(true)\n}\ntest "k3" {\n    assert(true)\n}\n',
    )
    for n in range(4):
        wyn.write(f"test_ok{n}.wyn", PASSING_PROGRAM)
    if warm:  # every binary cached first (serially, in a subprocess the killer may kill)
        wyn.run_subprocess("-n0", timeout=120)
    result = wyn.run_subprocess("-n", "3", timeout=120)
    result.assert_outcomes(passed=4, failed=3)
    out = result.stdout.str()
    assert out.count("crashed while running 'test_killer.wyn::k1'") >= 1
    result.stdout.fnmatch_lines(["*not run: worker * crashed while running 'test_killer.wyn::k1'*"])


XUNIT2_TESTCASE_CHILDREN = {
    "skipped", "error", "failure", "system-out", "system-err",
    "rerunFailure", "rerunError", "flakyFailure", "flakyError",
}  # fmt: skip


@pytest.mark.parametrize("family", ["xunit1", "xunit2", "legacy"])
def test_junit_xml_is_valid_for_every_family(wyn: WynProject, family: str) -> None:
    wyn.write("test_a.wyn", PASSING_PROGRAM)
    wyn.write("test_b.wyn", 'test "ok" {\n    assert(true)\n}\ntest "bad" {\n    assert(false)\n}\n')
    result = wyn.run("--junitxml=out.xml", "-o", f"junit_family={family}")
    result.assert_outcomes(passed=2, failed=1)
    assert "PytestWarning" not in result.stdout.str()
    root = ET.parse(wyn.path / "out.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 3
    if family == "xunit2":
        # As the xunit2 schema (junit-10.xsd) has it: a testcase holds no <properties>.
        for case in cases:
            assert {child.tag for child in case} <= XUNIT2_TESTCASE_CHILDREN, ET.tostring(case)
    else:
        assert all(case.find("properties/property[@name='wyn_cache']") is not None for case in cases)


def test_json_report_gets_each_tests_own_output(wyn: WynProject) -> None:
    wyn.write("test_prog.wyn", '// EXPECT: wanted\nprintln("printed instead")\n')
    wyn.write(
        "test_blocks.wyn",
        'test "talks" {\n    println("from talks")\n}\ntest "quiet" {\n    assert(true)\n}\n',
    )
    wyn.run("--json-report", "--json-report-file=report.json").assert_outcomes(passed=2, failed=1)
    tests = {t["nodeid"]: t for t in json.loads((wyn.path / "report.json").read_text())["tests"]}
    assert tests["test_prog.wyn::test_prog"]["call"]["stdout"] == "printed instead\n"
    assert tests["test_blocks.wyn::talks"]["call"]["stdout"] == "from talks\n"
    assert "stdout" not in tests["test_blocks.wyn::quiet"]["call"]


def test_a_passing_blocks_output_is_its_own_under_rP(wyn: WynProject) -> None:
    wyn.write(
        "test_blocks.wyn",
        'test "one" {\n    println("said by one")\n}\ntest "two" {\n    println("said by two")\n}\n',
    )
    result = wyn.run("-rP")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*_ test 'one' _*", "*Captured stdout call*", "said by one", "*_ test 'two' _*", "*Captured stdout call*", "said by two"])
    assert result.stdout.str().count("said by one") == 1


# What VS Code's pytest adapter (microsoft/vscode-python, python_files/vscode_pytest) registers when
# xdist is there: a wrapper around pytest_xdist_auto_num_workers that caps the count at the number of
# ids it runs, and runs one id without workers. Written here from its behaviour, to test ours under it.
VSCODE_LIKE_CAP = """
import pytest

class DeferPlugin:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_xdist_auto_num_workers(self, config):
        outcome = yield
        result = min(outcome.get_result(), len(config.option.file_or_dir))
        outcome.force_result(0 if result == 1 else result)

def pytest_plugin_registered(plugin, manager):
    if manager.hasplugin("xdist") and not isinstance(plugin, DeferPlugin) and not manager.hasplugin("vscode_like"):
        manager.register(DeferPlugin(), name="vscode_like")
"""


def test_an_ide_capping_workers_by_hook_wrapper_caps_ours(wyn: WynProject) -> None:
    for name in ("a", "b", "c", "d"):
        wyn.write(f"test_{name}.wyn", 'test "t" {\n    assert(true)\n}\n')
    wyn.write("conftest.py", VSCODE_LIKE_CAP)
    wyn.ini("wyn_run_ahead = false\n")  # strictly serial without workers: then workers pay for cold files
    result = wyn.run_subprocess("test_a.wyn::t", "test_b.wyn::t")  # cold: two files to compile
    result.assert_outcomes(passed=2)
    assert "created: 2/2 workers" in result.stdout.str()
    for name in ("c", "d"):
        wyn.write(f"test_{name}.wyn", 'test "t" {\n    assert(false)\n}\n')
    result = wyn.run_subprocess("test_c.wyn::t")
    result.assert_outcomes(failed=1)
    assert "created:" not in result.stdout.str()  # one id: no workers at all
    wyn.record_compile_seconds(3.0)  # as if the compiler were slow: then workers pay for four compiles
    for name in ("a", "b", "c", "d"):
        wyn.write(f"test_{name}.wyn", 'test "t" {\n    assert(1 == 1)\n}\n')
    result = wyn.run_subprocess(".")  # four files to compile, but the IDE runs one id (a folder)
    result.assert_outcomes(passed=4)
    assert "created:" not in result.stdout.str()
    wyn.write("conftest.py", "")
    wyn.record_compile_seconds(3.0)
    for name in ("a", "b", "c", "d"):
        wyn.write(f"test_{name}.wyn", 'test "t" {\n    assert(2 == 2)\n}\n')
    assert "created:" in wyn.run_subprocess(".").stdout.str()  # without the cap: ours


def test_pytest_html_shows_each_blocks_own_output(wyn: WynProject) -> None:
    wyn.write(
        "test_blocks.wyn",
        'test "one" {\n    println("said by one")\n}\ntest "two" {\n    assert(false)\n}\n',
    )
    wyn.run("--html=report.html", "--self-contained-html").assert_outcomes(passed=1, failed=1)
    html = (wyn.path / "report.html").read_text()
    assert html.count("said by one") == 1
    assert "assert failed" in html


def test_failures_keep_their_location_and_text_through_xdist(wyn: WynProject) -> None:
    """compat.failure_repr: the structure xdist serialises (reprcrash + reprtraceback) survives -n 2."""
    wyn.write("test_wrong.wyn", '// EXPECT: right\nprintln("wrong")\n')
    (wyn.path / "test_latin1.wyn").write_bytes(b'println("caf\xe9")\n')
    for args in (["-n", "0"], ["-n", "2"]):
        result = wyn.run_subprocess(*args, "-rfE")
        result.assert_outcomes(failed=1, errors=1)
        result.stdout.fnmatch_lines_random(
            [
                "test_wrong.wyn:1: output line 1 differs from EXPECT at line 1",
                "test_latin1.wyn:1: cannot collect: the file is not valid UTF-8 (byte 12: 0xe9)",
                "FAILED test_wrong.wyn::test_wrong - output line 1 differs from EXPECT at line 1",
                "ERROR test_latin1.wyn::test_latin1 - cannot collect: the file is not valid UT*",
            ]
        )
        assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("forced", [False, True], ids=["defaults", "forced-workers"])
def test_pytest_cov_measures_the_python_tests_in_every_mode(wyn: WynProject, forced: bool) -> None:
    """pytest-cov picks its mode before pytest-wyn picks workers: pytest-wyn then starts none of its own."""
    wyn.write("mylib.py", "def double(x):\n    return 2 * x\n\n\ndef unused():\n    return 0\n")
    wyn.write("test_py.py", "from mylib import double\n\n\ndef test_double():\n    assert double(2) == 4\n")
    for n in range(14):
        wyn.write(f"test_{n}.wyn", '// EXPECT: hello\nprintln("hello")\n')
    wyn.ini("wyn_run_ahead = false\n")  # cold, no run-ahead: the plan would start workers
    args = ["-n", "2"] if forced else []
    result = wyn.run_subprocess(*args, "--cov=mylib", "--cov-report=term-missing", "-p", "no:randomly")
    result.assert_outcomes(passed=15)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    assert re.search(r"mylib\.py\s+4\s+1\s+75%\s+6", out), out  # the Python test's lines were measured
    assert ("created: 2/2 workers" in out) == forced


def test_pytest_testmon_reselects_a_wyn_test_when_a_module_it_imports_changes(wyn: WynProject) -> None:
    wyn.write("tests/util.wyn", "pub fn answer() -> int {\n    return 42\n}\n")
    wyn.write("tests/test_util.wyn", "import util\nassert_eq(util.answer(), 42)\n")
    wyn.write("tests/test_other.wyn", 'println("independent")\n')
    wyn.write("tests/test_py.py", "def test_py():\n    assert True\n")
    first = wyn.run_subprocess("-n0", "--testmon", "-p", "no:randomly")
    first.assert_outcomes(passed=3)
    again = wyn.run_subprocess("-n0", "--testmon", "-p", "no:randomly")
    again.stdout.fnmatch_lines(["collected 0 items"])  # nothing changed: testmon skips every file
    wyn.write("tests/util.wyn", "pub fn answer() -> int {\n    return 41\n}\n")
    changed = wyn.run_subprocess("-n0", "--testmon", "-p", "no:randomly", "-v")
    changed.assert_outcomes(failed=1)  # only the test whose module changed
    changed.stdout.fnmatch_lines(["*tests/test_util.wyn::test_util FAILED*"])


@pytest.mark.all_plugins
def test_a_file_run_again_in_its_session_is_compiled_once_and_counted_once(wyn: WynProject) -> None:
    """Issue 31.7: a second run of a file compiled in the same session was counted as a cache hit too."""
    wyn.write("test_a.wyn", 'println("b")\n// EXPECT: a\n')
    result = wyn.run("--reruns", "1", "-p", "no:randomly")
    assert result.parseoutcomes() == {"failed": 1, "rerun": 1}
    result.stdout.fnmatch_lines(["compiled 1 file(s) in * s, 0 from the cache (saved 0.0 s of compiling)"])
