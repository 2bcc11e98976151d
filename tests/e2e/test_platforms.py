"""Issue 18, as far as Linux can show it: no platform module at import, and the macOS process path.

A real macOS or Windows run is the project's GitHub Actions matrix; here a
``sitecustomize`` takes away what CPython lacks on those platforms.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path, PureWindowsPath

import pytest
from conftest import TESTS, WynProject

from pytest_wyn.engine.formats import crash_name
from pytest_wyn.engine.hostpaths import (
    executable_name,
    has_separator,
    local_compiler_names,
    spaceless,
    split_command,
    wyn_path,
)
from pytest_wyn.engine.judge import exit_matches, judge_blocks, judge_expect_lines
from pytest_wyn.engine.owner import Acl, acl_problem
from pytest_wyn.engine.process import Completed
from pytest_wyn.engine.spec import parse
from pytest_wyn.engine.update import blessable_lines

# What CPython on macOS lacks and Linux has, and the address-space limit macOS refuses (a sitecustomize).
MACOS_LIKE = (TESTS / "harness" / "macos_like" / "sitecustomize.py").read_text()

NO_POSIX_MODULES = """
import sys
sys.modules["resource"] = None
sys.modules["fcntl"] = None
"""


def _harness(wyn: WynProject, tmp_path: Path, code: str) -> None:
    site = tmp_path / "harness"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(code))
    wyn.monkeypatch.setenv("PYTHONPATH", str(site))


def test_a_plain_python_project_runs_with_the_plugin_installed_and_no_posix_modules(
    wyn: WynProject, tmp_path: Path
) -> None:
    _harness(wyn, tmp_path, NO_POSIX_MODULES)
    wyn.pytester.makeini("[pytest]\n")  # wyn off: a project that does not use it
    wyn.write("test_plain.py", "import sys\n\ndef test_it():\n    assert sys.modules['resource'] is None\n")
    result = wyn.run_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


FILES = {
    "test_prog.wyn": "fn main() -> int {\n    return 0\n}\n",
    "test_out.wyn": 'println("one")\n// EXPECT: two\n',
    "test_blocks.wyn": 'test "good" {\n    assert(true)\n}\ntest "bad" {\n    assert_eq(1, 2)\n}\n',
    "test_hang.wyn": "// TIMEOUT: 1\nwhile true {\n}\n",
    "test_crash.wyn": '__c("raise(SIGSEGV);")\n',
    "test_sleep.wyn": 'test "naps" {\n    Time.sleep(300)\n}\n',
}


@pytest.mark.parametrize("mode", [["-n0"], [], ["-n", "2"]], ids=["serial", "run-ahead", "xdist"])
def test_verdicts_on_the_macos_like_process_path(wyn: WynProject, tmp_path: Path, mode: list[str]) -> None:
    _harness(wyn, tmp_path, MACOS_LIKE)
    for name, text in FILES.items():
        wyn.write(name, text)
    result = wyn.run_subprocess(*mode, "-rA", "-p", "no:randomly")
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_prog.wyn::test_prog",
            "FAILED test_out.wyn::test_out - output line 1 differs*",
            "PASSED test_blocks.wyn::good",
            "FAILED test_blocks.wyn::bad - assert_eq failed*",
            "FAILED test_hang.wyn::test_hang - timed out after 1 s*",
            "FAILED test_crash.wyn::test_crash - the test binary was killed by SIGSEGV*",
            "PASSED test_sleep.wyn::naps",
        ]
    )
    result.assert_outcomes(passed=3, failed=4)
    assert "internal error" not in result.stdout.str()


def test_crash_statuses_are_named() -> None:
    assert crash_name(0) is None and crash_name(1) is None
    assert crash_name(139) == "exit 139: segmentation fault or stack overflow"
    assert crash_name(3221225725) == "exit 0xc00000fd: stack overflow"
    assert crash_name(-1073741819) == "exit 0xc0000005: access violation"  # the same status, signed
    assert crash_name(1, "Crash detected (signal 11)\n") == "Crash detected (signal 11)"


# ---------------------------------------------------------------- pure Windows logic, tested everywhere


def test_windows_binary_names_and_paths_handed_to_wyn() -> None:
    assert executable_name("test_a", "win32") == "test_a.exe"
    assert executable_name("test_a.EXE", "win32") == "test_a.EXE"
    assert executable_name("test_a", "linux") == "test_a" and executable_name("test_a", "darwin") == "test_a"
    # Wyn puts -o unquoted into the C compiler's command line: no space, quote or shell character in it.
    assert executable_name("test_a b'c;d", "linux") == "test_a_b_c_d"
    assert executable_name("test a", "win32") == "test_a.exe"
    assert wyn_path(PureWindowsPath("tests\\unit\\test_a.wyn")) == "tests/unit/test_a.wyn"
    assert wyn_path("C:\\proj\\tests\\test_a.wyn") == "C:/proj/tests/test_a.wyn"


def test_the_local_compiler_is_found_through_pathext_on_windows_only() -> None:
    assert local_compiler_names("linux") == ["wyn"]
    assert local_compiler_names("win32", ".COM;.EXE;.BAT;.CMD") == ["wyn.com", "wyn.exe", "wyn.bat", "wyn.cmd"]
    assert "wyn" not in local_compiler_names("win32", ".EXE")  # a POSIX ./wyn script is never taken there


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("gcc --coverage", ["gcc", "--coverage"]),
        ('"C:\\Program Files\\mingw\\bin\\gcc.exe" -O0', ["C:\\Program Files\\mingw\\bin\\gcc.exe", "-O0"]),
        ('a\\\\\\"b c', ['a\\"b', "c"]),  # 2n+1 backslashes before a quote: n and a literal quote
        ('a\\\\"b c"', ["a\\b c"]),  # 2n backslashes: n, and the quote groups
        ("C:\\tools\\cc.exe   -x", ["C:\\tools\\cc.exe", "-x"]),
        ('""', [""]),
    ],
)
def test_wyn_cc_is_split_by_windows_rules_there(line: str, words: list[str]) -> None:
    assert split_command(line, "win32") == words


def test_wyn_cc_is_split_by_shell_rules_on_posix() -> None:
    assert split_command("gcc -wrapper '/a b/w.sh'", "linux") == ["gcc", "-wrapper", "/a b/w.sh"]
    assert has_separator("C:\\mingw\\gcc.exe", "win32") and has_separator("c:gcc", "win32")
    assert not has_separator("gcc", "win32") and not has_separator("C:\\x", "linux")


def test_run_directories_avoid_spaces() -> None:
    assert spaceless(["C:\\Users\\First Last\\Temp", "", "C:\\pytest-wyn-tmp"]) == "C:\\pytest-wyn-tmp"
    assert spaceless(["C:\\Users\\First Last\\Temp"]) is None


ME, OTHER = "S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1002"


@pytest.mark.parametrize(
    ("acl", "problem"),
    [
        (Acl(ME, (ME, "S-1-5-18", "S-1-5-32-544")), None),  # what mkdir(0o700) makes on current Pythons
        (Acl(ME, (ME, "S-1-3-0")), None),
        (Acl("S-1-5-32-544", (ME,)), None),  # made by an administrator for us
        (Acl(OTHER, (OTHER,)), "belongs to another account"),
        (Acl(ME, (ME, "S-1-5-11")), "can be written by S-1-5-11"),  # Authenticated Users
        (Acl(ME, (ME, "S-1-1-0")), "can be written by S-1-1-0"),  # Everyone (or a NULL DACL)
        (Acl(ME, (ME, OTHER, OTHER)), f"can be written by {OTHER};"),
    ],
)
def test_the_cache_acl_decision_on_windows(acl: Acl, problem: str | None) -> None:
    found = acl_problem("C:\\cache", acl, ME)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_exit_statuses_as_each_platform_reports_them() -> None:
    assert exit_matches(4294967295, -1) and exit_matches(-1, -1) and exit_matches(3, 3)
    assert not exit_matches(None, 0) and not exit_matches(2, 3)


def test_crlf_output_is_judged_and_pinned_as_lf() -> None:
    spec = parse('test "a" {\n    assert(true)\n}\n// EXPECT: hello\n')
    run = Completed(
        0, None, False, b"hello\r\n  \x1b[32m\xe2\x9c\x93\x1b[0m a\r\n\r\n\x1b[32m1 tests passed\x1b[0m\r\n", 0, 0.1
    )
    assert [v.passed for v in judge_blocks(spec, run, 5)] == [True]
    assert judge_expect_lines(spec, run, 5).passed
    assert blessable_lines(run, spec)[0] == "hello"


def test_no_process_back_end_is_imported_with_the_plugin() -> None:
    code = (
        "import sys, pytest_wyn.plugin\n"
        "loaded = [m for m in ('pytest_wyn.engine.process.posix', 'pytest_wyn.engine.process.win32',"
        " 'pytest_wyn.engine.winsec', 'resource') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_memory_limit_the_system_cannot_apply_is_named_once(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", 'println("hi")\n')
    wyn.monkeypatch.setattr("pytest_wyn.hooks.MEMORY_LIMIT_WORKS", False)  # as on macOS
    quiet = wyn.run()
    quiet.assert_outcomes(passed=1)
    assert "wyn_memory_limit is not applied" not in quiet.stdout.str()  # the default: nothing to say
    said = wyn.run("--wyn-memory-limit=1GiB")
    said.assert_outcomes(passed=1)
    said.stdout.fnmatch_lines(["wyn_memory_limit is not applied here: this system refuses an address-space limit*"])
