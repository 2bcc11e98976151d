"""Issue 19: the wrong verdicts of the third adversarial run, each through a real session."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import WynProject, processes_with, wait_until

from pytest_wyn.engine.deps import others_can_write, package_dir
from pytest_wyn.engine.spec import parse

# ---------------------------------------------------------------- 1. block forms Wyn accepts


def test_unquoted_block_names_are_blocks_and_hooks_are_not(wyn: WynProject) -> None:
    wyn.write(
        "test_forms.wyn",
        """
        before_each {
            println("setting up")
        }
        test alpha {
            assert_eq(1, 1)
        }
        test "beta" {
            assert_eq(2, 2)
        }
        test gamma {
            assert(false)
        }
        after_each {
            println("tearing down")
        }
        // EXPECT: setting up
        """,
    )
    result = wyn.run("-v")
    result.stdout.fnmatch_lines(
        [
            "test_forms.wyn::alpha PASSED*",
            "test_forms.wyn::beta PASSED*",
            "test_forms.wyn::gamma FAILED*",
            "test_forms.wyn::EXPECT PASSED*",
        ]
    )
    result.assert_outcomes(passed=3, failed=1)  # the EXPECT lines do not hide gamma's failure


def test_an_unquoted_name_wyn_takes_for_a_hook_is_reported_as_wyn_runs_it(wyn: WynProject) -> None:
    wyn.write(
        "test_hooked.wyn",
        'test "one" {\n    assert(true)\n}\ntest after_each_x {\n    println("after")\n}\ntest "two" {\n    assert(true)\n}\n',
    )
    result = wyn.run("-v")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*test_hooked.wyn:4: WynWarning: Wyn takes `test after_each_x` for the after_each hook*"
            'quote the name (test "after_each_x") to make it a test',
        ]
    )
    assert "after_each_x" not in [line.split("::")[-1].split()[0] for line in result.stdout.lines if "::" in line]


# ---------------------------------------------------------------- 2. `#` comments


def test_hash_comments_are_comments(wyn: WynProject) -> None:
    wyn.write(
        "test_hash.wyn",
        """
        # it's a file with a quote in a comment
        # test "ghost" { }
        # \"\"\" opens nothing
        test "real" {
            assert(true)
        }
        # \"\"\" closes nothing
        test "fails" {
            assert(false)
        }
        # no fn main here
        // EXPECT: not printed
        """,
    )
    result = wyn.run("-v", "-W", "error::pytest_wyn.WynWarning")
    result.stdout.fnmatch_lines(["test_hash.wyn::real PASSED*", "test_hash.wyn::fails FAILED*", "*::EXPECT FAILED*"])
    result.assert_outcomes(passed=1, failed=2)
    assert "ghost" not in result.stdout.str()


def test_an_unterminated_block_comment_ends_the_file_as_in_wyns_lexer() -> None:
    spec = parse('test "a" {\n    assert(true)\n}\n/* to the end\ntest "b" {\n')
    assert [b.name for b in spec.blocks] == ["a"]


# ---------------------------------------------------------------- 3. unique node ids


@pytest.mark.parametrize("mode", [["-n0"], ["-n", "2"], ["-n", "2", "--dist", "loadfile"], []], ids=str)
def test_duplicate_names_never_share_an_id(wyn: WynProject, mode: list[str]) -> None:
    wyn.write(
        "test_dup.wyn",
        'test "a" {\n    assert(true)\n}\ntest "a#2" {\n    assert(true)\n}\ntest "a" {\n    assert(false)\n}\n',
    )
    result = wyn.run_subprocess(*mode, "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED test_dup.wyn::a#3*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    rerun = wyn.run_subprocess("-n0", "--lf", "-v")
    rerun.assert_outcomes(failed=1)


# ---------------------------------------------------------------- 4, 5. result lines


def test_a_result_marker_after_unterminated_output_counts(wyn: WynProject) -> None:
    wyn.write(
        "test_progress.wyn",
        'test "progress" {\n    print_str("working...")\n}\ntest "after" {\n    assert(true)\n}\n',
    )
    result = wyn.run("-v")
    result.assert_outcomes(passed=2)


def test_a_block_cannot_forge_its_own_pass(wyn: WynProject) -> None:
    forged = (
        r'__c("printf(\"  \\033[32m\\342\\234\\223\\033[0m forger\\n\\n\\033[31m1 passed, 1 failed\\033[0m\\n\");")'
    )
    wyn.write(
        "test_forge.wyn",
        f'test "honest" {{\n    assert(false)\n}}\ntest "forger" {{\n    {forged}\n    assert(false)\n}}\n',
    )
    result = wyn.run("-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*test_forge.wyn::forger FAILED*"])


def test_a_block_forging_a_later_block_before_it_panics_passes_nothing(wyn: WynProject) -> None:
    forged = r'__c("printf(\"  \\033[32m\\342\\234\\223\\033[0m later\\n\");")'
    wyn.write(
        "test_forge2.wyn",
        f'test "first" {{\n    {forged}\n    panic("boom")\n}}\ntest "later" {{\n    assert(true)\n}}\n',
    )
    result = wyn.run("-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*not run: the test binary aborted in block 'first'*"])


# ---------------------------------------------------------------- 6. names printf mangles


def test_names_with_escapes_match_and_percent_is_explained(wyn: WynProject) -> None:
    wyn.write(
        "test_printf.wyn",
        'test "hex \\x41" {\n    assert(true)\n}\ntest "100%% sure" {\n    assert(true)\n}\n'
        'test "100% done" {\n    assert(true)\n}\ntest "after" {\n    assert(false)\n}\ntest "last" {\n    assert(true)\n}\n',
    )
    result = wyn.run("-v")
    result.stdout.fnmatch_lines(
        [
            "test_printf.wyn::hex A PASSED*",
            "test_printf.wyn::100% sure PASSED*",
            "test_printf.wyn::100% done FAILED*",
            "test_printf.wyn::after FAILED*",
            "test_printf.wyn::last PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["test_printf.wyn:7: Wyn cannot print this block's name: it has '%'*"])
    assert "parser missed a block form" not in result.stdout.str()


# ---------------------------------------------------------------- 7. wyn.toml packages


def test_a_changed_package_dependency_is_compiled_again(wyn: WynProject, tmp_path: os.PathLike[str]) -> None:
    cache = os.path.join(tmp_path, "pkg")
    wyn.monkeypatch.setenv("WYN_PKG_CACHE", cache)
    package = os.path.join(cache, "github.com", "someone", "mathlib@HEAD")
    os.makedirs(package)
    module = os.path.join(package, "mathlib.wyn")
    with open(module, "w") as f:
        f.write("pub fn twice(x: int) -> int {\n    return x * 2\n}\n")
    wyn.write("wyn.toml", '[dependencies]\nmathlib = "github.com/someone/mathlib"\n')
    wyn.write("test_pkg.wyn", 'import mathlib\ntest "twice" {\n    assert_eq(mathlib.twice(2), 4)\n}\n')
    wyn.run().assert_outcomes(passed=1)
    with open(module, "w") as f:
        f.write("pub fn twice(x: int) -> int {\n    return x * 3\n}\n")
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 2


def test_package_directories_follow_wyns_pkgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_PKG_CACHE", "/c")
    assert package_dir("m", "github.com/o/mathlib") == "/c/github.com/o/mathlib@HEAD"
    assert package_dir("m", "github.com/o/mathlib.git@v1.2") == "/c/github.com/o/mathlib@v1.2"
    assert package_dir("args", "args") == "/c/github.com/wynlang/args@HEAD"
    assert package_dir("m", "https://user@host.org/a/b/c@main") == "/c/host.org/a/b/c@main"
    assert package_dir("m", "git@github.com:o/r") == "/c/github.com/o/r@HEAD"
    assert package_dir("m", '{ git = "github.com/o/r" }') == "/c/github.com/o/r@HEAD"
    assert package_dir("m", "./local") is None
    assert package_dir("m", "a/b") is None


# ---------------------------------------------------------------- 8. host failures and C-stage errors


def test_only_build_failed_is_a_host_failure_never_cached(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", 'println("hi")\n')
    wyn.monkeypatch.setenv("WYN_STANDIN_CRASH", "buildfailed")
    wyn.ini("wyn_compile_retries = 0\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*without any diagnostic on the source*"])
    wyn.monkeypatch.delenv("WYN_STANDIN_CRASH")
    wyn.run().assert_outcomes(passed=1)


def test_c_compiler_errors_are_a_real_cached_failure_shown_in_the_report(wyn: WynProject) -> None:
    wyn.write("test_c.wyn", '__c("this is not C;")\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Compiler output:*", "test_c.wyn:1: compile error: unknown type name*"])
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 1  # a real verdict on the source: cached


def test_a_full_tmpdir_never_throws_a_good_entry_away(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    wyn.write("test_a.wyn", 'println("hi")\n')
    wyn.run().assert_outcomes(passed=1)

    def full(*args: object, **kwargs: object) -> bool:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr("pytest_wyn.engine.build.copy_verified", full)
        result = wyn.run()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*cannot copy the cached binary to run it: No space left on device*"])
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 1  # the entry survived the full disk


# ---------------------------------------------------------------- 9, 10. run-ahead in mixed suites


def test_binaries_never_run_ahead_of_a_python_test_before_them(wyn: WynProject) -> None:
    wyn.write(
        "test_a_env.py",
        "import time\n\ndef test_sets_env(monkeypatch):\n"
        "    monkeypatch.setenv('WYN_LEAK', '1')\n    time.sleep(1.0)\n",
    )
    for n in range(6):
        wyn.write(f"test_b{n}.wyn", '__c("if (getenv(\\"WYN_LEAK\\")) { puts(\\"leaked\\"); return 1; }")\n')
    for args in ((), ("-n0",)):
        result = wyn.run_subprocess(*args, "-p", "no:randomly")
        result.assert_outcomes(passed=7)


def test_pytest_timeout_counts_a_run_that_ran_ahead(wyn: WynProject) -> None:
    # Each test sleeps WYN_SLEEP_S seconds: none while the cache is warmed, then 3 s against a 1 s timeout.
    wyn.write("test_a_slow.py", "import os, time\n\ndef test_slow():\n    time.sleep(int(os.environ['WYN_SLEEP_S']))\n")
    sleep = '    __c("sleep(atoi(getenv(\\"WYN_SLEEP_S\\")));")\n'
    wyn.write("test_b_sleeper.wyn", 'test "sleeps" {\n' + sleep + "}\n")
    wyn.write("test_c_other.wyn", 'test "sleeps too" {\n' + sleep + "}\n")
    wyn.monkeypatch.setenv("WYN_SLEEP_S", "0")
    wyn.run_subprocess("-n0").assert_outcomes(passed=3)
    wyn.record_sleepers(3.0)  # the record: the sleepers run ahead from now on
    wyn.monkeypatch.setenv("WYN_SLEEP_S", "3")
    for args in ((), ("-n0",)):
        result = wyn.run_subprocess(*args, "--timeout=1", "-p", "no:randomly")
        result.assert_outcomes(failed=3)  # as a serial run: each test takes 3 s
        result.stdout.fnmatch_lines(["*test_b_sleeper.wyn:1: interrupted: Timeout*"])
        lines = result.stdout.lines
        start = next(i for i, ln in enumerate(lines) if "test 'sleeps'" in ln and ln.startswith("_"))
        section = lines[start + 1 : next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("_", "-")))]
        assert len(section) < 15 and not [ln for ln in section if ln.strip().startswith("File ")], section


# ---------------------------------------------------------------- 17, 19. processes and modules


def test_a_child_in_a_new_process_group_does_not_outlive_its_test(wyn: WynProject) -> None:
    marker = f"{300 + os.getpid() % 97}.{os.getpid()}"
    wyn.write(
        "test_escape.wyn",
        '__c("system(\\"perl -e \'setpgrp(0,0); exec q(sleep), q(' + marker + ')\' >/dev/null 2>&1 &\\");")\n'
        '__c("usleep(300000);")\n',
    )
    try:
        wyn.run_subprocess().assert_outcomes(passed=1)
        assert wait_until(lambda: processes_with(f"sleep {marker}") == [], 5)
    finally:
        for pid in processes_with(f"sleep {marker}"):
            os.kill(pid, 9)


def test_a_module_others_can_write_is_named_once(wyn: WynProject) -> None:
    modules = wyn.path / "modules"
    modules.mkdir()
    (modules / "shared.wyn").write_text("pub fn one() -> int {\n    return 1\n}\n")
    modules.chmod(0o777)
    for n in range(3):
        wyn.write(f"test_m{n}.wyn", "import shared\nassert_eq(shared.one(), 1)\n")
    result = wyn.run()
    result.assert_outcomes(passed=3)
    text = result.stdout.str()
    assert text.count("module 'shared' comes from ./modules/shared.wyn, where another user can write") == 1
    # It is in the project: the advice is to close the folder, not to move the module (issue 31.3).
    assert "make it and its folder writable by you alone (chmod go-w ./modules)" in text
    assert "move the module into the project" not in text
    modules.chmod(0o755)
    assert "another user can write" not in wyn.run("--wyn-cache-clear").stdout.str()


def test_who_can_write_a_module(tmp_path: os.PathLike[str]) -> None:
    d = os.path.join(tmp_path, "d")
    os.mkdir(d, 0o755)
    f = os.path.join(d, "m.wyn")
    with open(f, "w") as out:
        out.write("")
    os.chmod(f, 0o644)
    assert not others_can_write(f)
    os.chmod(d, 0o777)
    assert others_can_write(f)
    os.chmod(d, 0o1777)  # sticky, as /tmp: others cannot replace our file
    assert not others_can_write(f)
    os.chmod(f, 0o666)
    assert others_can_write(f)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_compiler_others_can_write_is_warned_about_once(wyn: WynProject) -> None:
    """Issue 28.11: a planted module was named, a planted compiler was not."""
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    wyn.compiler.chmod(0o777)
    result = wyn.run("-n", "2")
    result.assert_outcomes(passed=1)
    assert result.stdout.str().count("can be changed by another user (the file or its folder is writable by others)") == 1
    wyn.compiler.chmod(0o755)
    assert "can be changed by another user" not in wyn.run().stdout.str()


# ---------------------------------------------------------------- issue 30: a bug of ours, readable


def test_a_bug_in_the_plugin_fails_each_test_with_its_traceback_and_the_session_goes_on(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_wyn.engine import judge

    def broken(*args: object) -> object:
        raise RuntimeError("the judge fell over")

    monkeypatch.setattr(judge, "judge_program", broken)
    wyn.write("test_a.wyn", '// EXPECT: a\nprintln("a")\n')
    wyn.write("test_b.wyn", 'test "b" {\n    assert(true)\n}\n')
    result = wyn.run("-rA")
    result.assert_outcomes(failed=1, passed=1)  # the block file is judged by another function: untouched
    result.stdout.fnmatch_lines(
        [
            "*internal error in pytest-wyn: RuntimeError: the judge fell over",
            "*a bug in pytest-wyn, not in your test; please report it with this traceback:",
            "*Traceback (most recent call last):",
            "*in _execute*",
            "*in broken*",
            "*RuntimeError: the judge fell over",
        ]
    )


# ---------------------------------------------------------------- issue 32.6: counts that are true

def test_a_compiler_that_never_started_is_not_counted_as_compiled(wyn: WynProject) -> None:
    """Issue 32.6, without ssh: the summary counted every attempt, started or not."""
    wyn.ini("wyn_compile_command = {compiler}-not-there build {source} -o {output}\n")
    wyn.write("test_a.wyn", 'println("a")\n')
    result = wyn.run("-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the compiler could not be started*", "compiled 0 file(s) in *"])
    result.stdout.fnmatch_lines(["the compiler could not be started for 1 file(s): see their failures"])
