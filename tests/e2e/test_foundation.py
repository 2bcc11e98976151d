"""Issue 2: turning it on, discovery, the toolchain, program and output tests, reports."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from conftest import STANDIN, WynProject, launcher_text, processes_with, wait_until

PASSING = 'fn main() -> int {\n    println("ok")\n    return 0\n}\n'


# ---------------------------------------------------------------- turning it on


def test_plugin_changes_nothing_when_off(pytester: pytest.Pytester) -> None:
    pytester.makefile(".wyn", test_a=PASSING)
    pytester.makepyfile(test_py="def test_x(): pass")
    result = pytester.runpytest("-n0")
    result.assert_outcomes(passed=1)
    assert "wyn" not in result.stdout.str().split("plugins:")[0]


def test_command_line_switch(wyn: WynProject) -> None:
    wyn.pytester.makeini("[pytest]\n")
    wyn.write("test_a.wyn", PASSING)
    wyn.run().assert_outcomes()
    wyn.run("--wyn").assert_outcomes(passed=1)


def test_ini_switch_is_enough_for_collect_only(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    wyn.compiler.unlink()  # an IDE's discovery needs no compiler
    result = wyn.run("--collect-only", "-q")
    assert "test_a.wyn::test_a" in result.stdout.str()
    assert result.ret == 0
    assert wyn.compiles() == []


# ---------------------------------------------------------------- discovery


def test_default_patterns_at_any_depth(wyn: WynProject) -> None:
    wyn.write("test_top.wyn", PASSING)
    wyn.write("a/b/c/deep_test.wyn", PASSING)
    wyn.write("a/helper.wyn", PASSING)  # not a test file
    wyn.write("a/testing.wyn", PASSING)
    result = wyn.run("--collect-only", "-q")
    out = result.stdout.str()
    assert "test_top.wyn::test_top" in out
    assert "a/b/c/deep_test.wyn::deep_test" in out
    assert "helper" not in out and "testing" not in out


def test_custom_patterns(wyn: WynProject) -> None:
    wyn.ini("wyn_files = check_*.wyn\n")
    wyn.write("check_one.wyn", PASSING)
    wyn.write("test_two.wyn", PASSING)
    out = wyn.run("--collect-only", "-q").stdout.str()
    assert "check_one.wyn" in out and "test_two.wyn" not in out


def test_explicit_file_is_collected_even_if_it_does_not_match(wyn: WynProject) -> None:
    wyn.write("example.wyn", PASSING)
    assert "example.wyn" not in wyn.run("--collect-only", "-q").stdout.str()
    wyn.run("example.wyn").assert_outcomes(passed=1)


def test_testpaths_norecursedirs_ignore_deselect(wyn: WynProject) -> None:
    wyn.ini("testpaths = suite\nnorecursedirs = skipme\n")
    wyn.write("suite/test_a.wyn", PASSING)
    wyn.write("suite/test_b.wyn", PASSING)
    wyn.write("suite/skipme/test_c.wyn", PASSING)
    wyn.write("outside/test_d.wyn", PASSING)
    result = wyn.run("--ignore=suite/test_b.wyn", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*suite/test_a.wyn::test_a PASSED*"])
    wyn.run("--deselect", "suite/test_a.wyn::test_a").assert_outcomes(passed=1, deselected=1)


def test_collection_never_compiles(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    wyn.write("test_b.wyn", 'test "x" {\n    assert(true)\n}\n')
    wyn.run("--collect-only")
    assert wyn.compiles() == []


# ---------------------------------------------------------------- the toolchain


def test_a_missing_toolchain_fails_only_the_wyn_tests_that_run(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    wyn.compiler.unlink()
    monkeypatch.setenv("PATH", "/nonexistent")
    wyn.write("test_a.wyn", PASSING)
    wyn.write("test_b.wyn", 'test "x" {\n    assert(true)\n}\ntest "y" {\n    assert(true)\n}\n')
    wyn.write("test_py.py", "def test_python():\n    pass\n")
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert "wyn: no Wyn compiler found. Looked at, in order: (only the Wyn tests that run fail for it)" in out
    assert out.count("pytest-wyn: no Wyn compiler found. Looked at, in order:") >= 3
    for place in ("--wyn-compiler", "ini wyn_compiler", "environment variable WYN", "wyn on PATH"):
        assert place in out
    assert str(wyn.path / "wyn") in out
    assert "Traceback" not in out + result.stderr.str()
    # A run that selects no Wyn test needs no compiler (issue 22): not an error.
    for args in (("test_py.py",), ("-m", "not wyn"), ("-n", "2", "-m", "not wyn")):
        result = wyn.run(*args)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK


def test_compiler_lookup_order(wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wyn.write("test_a.wyn", PASSING)
    made = {}
    for name in ("opt", "ini", "env", "path"):
        d = tmp_path / name
        d.mkdir()
        (d / "wyn").write_text(launcher_text(STANDIN))
        (d / "wyn").chmod(0o755)
        made[name] = d / "wyn"
    monkeypatch.setenv("PATH", f"{tmp_path / 'path'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("WYN", str(made["env"]))
    wyn.ini(f"wyn_compiler = {made['ini']}\n")
    assert f"wyn: {made['opt']}" in wyn.run(f"--wyn-compiler={made['opt']}").stdout.str()
    assert f"wyn: {made['env']} " in wyn.run().stdout.str()  # the environment beats the ini file
    monkeypatch.delenv("WYN")
    assert f"wyn: {made['ini']} " in wyn.run().stdout.str()
    wyn.ini("")
    assert f"wyn: {wyn.path / 'wyn'} " in wyn.run().stdout.str()
    wyn.compiler.unlink()
    out = wyn.run().stdout.str()
    assert f"wyn: {made['path']} " in out and "found by wyn on PATH" in out


def test_header_names_compiler_and_version_without_escapes(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    out = wyn.run().stdout.str()
    assert "Wyn v1.20.0 - pytest-wyn stand-in" in out
    assert "\x1b[" not in out.split("collected")[0]
    assert f"wyn cache: {wyn.cache}" in out


def test_bad_compiler_setting_is_a_usage_error(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    result = wyn.run("--wyn-compiler=/no/such/wyn")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wyn-compiler names '/no/such/wyn'" in result.stderr.str()


def test_v15_style_compile_command(wyn: WynProject, tmp_path: Path) -> None:
    """`wyn SOURCE` writing SOURCE.out, as the seed-era compiler did."""
    old = tmp_path / "oldwyn.py"
    old.write_text(
        "import os, subprocess, sys\n"
        f"src = sys.argv[1]\n"
        f"sys.exit(subprocess.call([sys.executable, {str(STANDIN)!r}, 'build', src, '-o', src + '.out']))\n"
    )
    wyn.compiler.write_text(launcher_text(old))
    wyn.ini("wyn_compile_command = {compiler} {source}\nwyn_compile_output = {source}.out\n")
    wyn.write("test_a.wyn", '// EXPECT: seed\nprintln("seed")\n')
    wyn.run().assert_outcomes(passed=1)
    assert not (wyn.path / "test_a.wyn.out").exists()


def test_compile_args_reach_the_compiler(wyn: WynProject, tmp_path: Path) -> None:
    log = tmp_path / "argv.log"
    spy = tmp_path / "spy.sh"
    spy.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {sys.executable} {STANDIN} "$@"\n')
    spy.chmod(0o755)
    wyn.ini("wyn_compile_args = --release\n")
    wyn.write("test_a.wyn", PASSING)
    wyn.run(f"--wyn-compiler={spy}").assert_outcomes(passed=1)
    builds = [line for line in log.read_text().splitlines() if line.startswith("build")]
    assert builds and builds[0].startswith("build --release test_a.wyn -o ")


# ---------------------------------------------------------------- compiling


def test_compiles_from_rootdir_with_relative_path_and_leaves_no_artifacts(wyn: WynProject) -> None:
    wyn.write("sub/test_a.wyn", "var a = [1]\nvar i = 3\nprintln(a[i])\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    # the panic names the path as passed to the compiler: relative to the rootdir
    result.stdout.fnmatch_lines(["*panic at sub/test_a.wyn:3: array index out of bounds*"])
    assert sorted(p.name for p in (wyn.path / "sub").iterdir()) == ["test_a.wyn"]
    assert not (wyn.path / "sub" / "test_a").exists()


def test_existing_generated_c_file_is_left_as_it_was(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    (wyn.path / "test_a.wyn.c").write_text("/* the user's own */\n")
    wyn.run().assert_outcomes(passed=1)
    assert (wyn.path / "test_a.wyn.c").read_text() == "/* the user's own */\n"


# ---------------------------------------------------------------- program and output tests


def test_program_test_passes_on_exit_zero_and_fails_otherwise(wyn: WynProject) -> None:
    wyn.write("test_ok.wyn", PASSING)
    wyn.write("test_three.wyn", 'fn main() -> int {\n    println("three")\n    return 3\n}\n')
    wyn.write("test_expected_exit.wyn", "// EXPECT_EXIT: 3\nfn main() -> int {\n    return 3\n}\n")
    result = wyn.run("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_three.wyn::test_three - exited 3, expected 0*"])


def test_output_test_matches_first_lines_and_ignores_the_rest(wyn: WynProject) -> None:
    wyn.write(
        "test_out.wyn",
        """
        // EXPECT: hello
        // EXPECT: 5
        println("hello")
        println(2 + 3)
        println("extra lines are ignored")
        exit(7)
        """,
    )
    wyn.run().assert_outcomes(passed=1)  # exit status not checked without EXPECT_EXIT


def test_output_mismatch_names_the_line_and_the_expect(wyn: WynProject) -> None:
    wyn.write(
        "test_out.wyn",
        """
        println("one")
        println("too")
        // EXPECT: one
        // EXPECT: two
        """,
    )
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "output line 2 differs from EXPECT at line 4",
            "*output line 1 (EXPECT at line 3): 'one'",
            "! output line 2 (EXPECT at line 4):",
            "*expected: 'two'",
            "*got:      'too'",
            "test_out.wyn:4: output line 2 differs from EXPECT at line 4",
        ]
    )


def test_output_shorter_than_expected(wyn: WynProject) -> None:
    wyn.write("test_out.wyn", '// EXPECT: a\n// EXPECT: b\nprintln("a")\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got:      nothing (the output has 1 lines)*"])


def test_expect_exit_checked_with_expect_lines(wyn: WynProject) -> None:
    wyn.write("test_out.wyn", '// EXPECT: a\n// EXPECT_EXIT: 2\nprintln("a")\nexit(1)\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exited 1, expected 2*"])


def test_stdout_and_stderr_share_one_pipe_in_order(wyn: WynProject) -> None:
    wyn.write(
        "test_order.wyn",
        """
        // EXPECT: first
        // EXPECT:     assert failed
        // EXPECT: third
        println("first")
        assert(false)
        println("third")
        """,
    )
    wyn.run().assert_outcomes(passed=1)


def test_death_by_signal_always_fails_and_names_the_signal(wyn: WynProject) -> None:
    wyn.write("test_sig.wyn", '// EXPECT: before\nprintln("before")\n__c("raise(SIGSEGV);")\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test binary was killed by SIGSEGV*"])


def test_expect_error(wyn: WynProject) -> None:
    wyn.write("test_good_error.wyn", "// EXPECT_ERROR: Undefined variable\nprintln(nope)\n")
    wyn.write("test_compiles.wyn", '// EXPECT_ERROR: Undefined variable\nprintln("fine")\n')
    wyn.write("test_other_error.wyn", "// EXPECT_ERROR: Type mismatch\n// EXPECT_ERROR: nope\nprintln(nope)\n")
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "test_compiles.wyn:1: expected a compile error, but the file compiled" in out
    assert "test_other_error.wyn:1: the compile error does not contain 'Type mismatch'" in out


def test_skip_xfail_and_strict_xpass(wyn: WynProject) -> None:
    wyn.write("test_skip.wyn", "// SKIP: not on this platform\nprintln(nope)\n")
    wyn.write("test_xfail.wyn", "// XFAIL: known bug 12\nexit(1)\n")
    wyn.write("test_xpass.wyn", "// XFAIL: was a bug\nexit(0)\n")
    result = wyn.run("-rsxX")
    result.assert_outcomes(skipped=1, xfailed=1, failed=1)
    result.stdout.fnmatch_lines_random(["*not on this platform*", "*XPASS(strict)*was a bug*"])
    assert wyn.compiles() == ["test_xfail.wyn", "test_xpass.wyn"]  # a skipped file is never compiled


def test_timeout_directive_kills_the_test_and_its_children(wyn: WynProject) -> None:
    wyn.write(
        "test_hang.wyn",
        """
        // TIMEOUT: 1
        __c("if (fork() == 0) { sleep(300); _exit(0); }")
        while true {
        }
        """,
    )
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 1 s; the test binary and its children were killed*"])
    # The binary and its forked child share the binary's command line: none of them is left.
    assert wait_until(lambda: processes_with(f"{os.sep}test_hang") == [], 5), "the forked child outlived the timeout"


def test_timeout_option_and_ini(wyn: WynProject) -> None:
    wyn.write("test_hang.wyn", "while true {\n}\n")
    wyn.run("--wyn-timeout=0.5").stdout.fnmatch_lines(["*timed out after 0.5 s*"])
    wyn.ini("wyn_timeout = 0.7\n")
    wyn.run().stdout.fnmatch_lines(["*timed out after 0.7 s*"])


def test_typo_directive_warns(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", '// EXPCT: hi\n// TODO: not a directive\nprintln("hi")\n')
    result = wyn.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*test_a.wyn:1: WynWarning: unknown directive EXPCT: (did you mean EXPECT:?)*"])


def test_bad_directive_value_is_a_collection_error(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", "// TIMEOUT: soon\nexit(0)\n")
    wyn.write("test_b.wyn", PASSING)
    result = wyn.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["test_a.wyn:1: cannot collect: TIMEOUT needs a positive, finite number of seconds*"])


# ---------------------------------------------------------------- running


def test_binary_gets_empty_stdin_and_no_wyn_lenient(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_LENIENT", "1")
    wyn.write(
        "test_env.wyn",
        """
        // EXPECT: stdin at EOF
        // EXPECT: no lenient
        __c("if (getchar() == EOF) puts(\\"stdin at EOF\\");")
        __c("if (!getenv(\\"WYN_LENIENT\\")) puts(\\"no lenient\\");")
        """,
    )
    wyn.run().assert_outcomes(passed=1)


def test_huge_output_is_bounded_and_cut_is_reported(wyn: WynProject) -> None:
    wyn.write(
        "test_flood.wyn",
        """
        // EXPECT: start
        // EXPECT: nope
        println("start")
        __c("for (long i = 0; i < 2000000; i++) puts(\\"flood flood flood flood flood flood flood\\");")
        """,
    )
    wyn.ini("wyn_max_output = 64KiB\n")
    result = wyn.run("-rA")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "bytes of output were cut from the middle" in out
    assert len(out) < 2_000_000


# ---------------------------------------------------------------- reports


def test_compile_error_points_at_the_wyn_line_in_both_forms(wyn: WynProject) -> None:
    wyn.write("test_checker.wyn", 'println("a")\nprintln(missing)\n')  # stderr form: Error at line N
    wyn.write("test_syntax.wyn", 'println("a")\n\nvar x: int = "s"\n')  # stdout form: --> FILE:L:C
    result = wyn.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "test_checker.wyn:2: compile error: Undefined variable 'missing'",
            "test_syntax.wyn:3: compile error: Type mismatch at line 3:0",
            "*2 | println(missing)",
            '*3 | var x: int = "s"',
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "\x1b[" not in result.stdout.str()


def test_sections_in_report_and_junit(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", '// EXPECT: hi\nprintln("hi")\n')
    result = wyn.run("-rA", "--junitxml=out.xml", "-o", "junit_logging=all", "-o", "junit_family=xunit1")
    result.stdout.fnmatch_lines(["*Captured stdout call*", "hi"])
    assert "Building test_a.wyn" not in result.stdout.str()  # progress lines are not a compile log
    xml = (wyn.path / "out.xml").read_text()
    assert "<system-out>" in xml and "hi" in xml
    assert 'name="wyn_cache"' in xml and 'name="wyn_compile_seconds"' in xml


def test_unreadable_and_non_utf8_files_are_collection_errors(wyn: WynProject) -> None:
    (wyn.path / "test_latin1.wyn").write_bytes(b'println("caf\xe9")\n')
    wyn.write("test_ok.wyn", PASSING)
    result = wyn.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["test_latin1.wyn:1: cannot collect: the file is not valid UTF-8 (byte 12: 0xe9)"])


def test_cache_dir_is_private(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    wyn.run().assert_outcomes(passed=1)
    assert stat.S_IMODE(wyn.cache.stat().st_mode) == 0o700


def test_every_wyn_item_carries_the_wyn_marker(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", PASSING)
    wyn.write("test_b.wyn", 'test "x" {\n    assert(true)\n}\n')
    wyn.pytester.makepyfile(test_py="def test_python(): pass")
    wyn.run("-m", "wyn", "--strict-markers").assert_outcomes(passed=2, deselected=1)
    wyn.run("-m", "not wyn", "--strict-markers").assert_outcomes(passed=1, deselected=2)


def test_the_environment_beats_the_ini_file_and_the_command_line_beats_both(
    wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wyn.write("test_a.wyn", PASSING)
    wyn.ini(f"wyn_cache_dir = {tmp_path / 'from-ini'}\n")
    monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(tmp_path / "from-env"))
    assert f"wyn cache: {tmp_path / 'from-env'}" in wyn.run().stdout.str()
    out = wyn.run(f"--wyn-cache-dir={tmp_path / 'from-option'}").stdout.str()
    assert f"wyn cache: {tmp_path / 'from-option'}" in out
    monkeypatch.delenv("PYTEST_WYN_CACHE_DIR")
    assert f"wyn cache: {tmp_path / 'from-ini'}" in wyn.run().stdout.str()


def test_settings_without_an_option_before_have_one_now(wyn: WynProject) -> None:
    wyn.write("check_a.wyn", PASSING)
    wyn.write("test_b.wyn", PASSING)
    result = wyn.run("--wyn-files=check_*.wyn", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["check_a.wyn::check_a PASSED*"])
    wyn.write("test_loud.wyn", '__c("for (int i = 0; i < 3000; i++) puts(\\"a line of output\\");")\n')
    result = wyn.run("--wyn-max-output=2KiB", "--wyn-compile-jobs=1", "--wyn-workers=1", "-rP", "test_loud.wyn")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*bytes of output were cut from the middle*"])


def test_a_failing_binary_can_be_kept_and_run_again_by_hand(wyn: WynProject) -> None:
    import subprocess

    wyn.write("tests/test_k.wyn", 'println("x")\n// EXPECT: y\n')
    result = wyn.run("--wyn-keep-binaries", "-vv")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Captured wyn binary call*",
            "kept as .pytest_cache/d/wyn-binaries/tests/test_k; to run it again, from *:",
            "*Captured wyn build call*",
            "*wyn build tests/test_k.wyn -o *",
            "(compiled now)",
        ]
    )
    kept = wyn.path / ".pytest_cache" / "d" / "wyn-binaries" / "tests" / "test_k"
    assert subprocess.run([str(kept)], capture_output=True, text=True).stdout == "x\n"
    assert "Captured wyn binary" not in wyn.run().stdout.str()  # off by default
