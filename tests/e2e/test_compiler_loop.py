"""The compiler developer's loop (issue 29): the second cache level, generated C -> binary.

A compiler edit misses the first level (source + compiler) for every file; the files whose generated C
did not change then reuse their binary from the second level. Nothing it serves may be stale: the
runtime header, the runtime library and the C compiler are in its key.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STANDIN, TESTS, WynProject, launcher_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX launchers and shell scripts")

SUITE = {
    "test_pass.wyn": 'println("hello")\n// EXPECT: hello\n',
    "test_blocks.wyn": 'test "one" {\n    assert(true)\n}\ntest "two" {\n    assert_eq(1, 2)\n}\n',
    "test_exit.wyn": "exit(0)\n",
}


def own_compiler(wyn: WynProject, tmp_path: Path) -> Path:
    """A copy of the stand-in as the project's ./wyn: editing it is a compiler edit."""
    copy = tmp_path / "compiler"
    shutil.copytree(TESTS / "standin", copy / "standin", ignore=shutil.ignore_patterns(".root", "__pycache__"))
    shutil.copy(STANDIN, copy / "wyn_standin.py")
    wyn.compiler.write_text(launcher_text(copy / "wyn_standin.py"))
    return copy


def c_line(output: str) -> str:
    return next((line for line in output.splitlines() if line.startswith("C generated for")), "")


def test_a_compiler_edit_reuses_every_unchanged_c_compile(wyn: WynProject, tmp_path: Path) -> None:
    wyn.own_c_cache()
    compiler = own_compiler(wyn, tmp_path)
    for name, text in SUITE.items():
        wyn.write(name, text)
    first = wyn.run("-rA", "-p", "no:randomly")
    first.assert_outcomes(passed=3, failed=1)
    assert c_line(first.stdout.str()) == "C generated for 3 of them: 0 C compile(s) reused (the second cache level), 3 compiled"
    driver = compiler / "standin" / "driver.py"
    driver.write_text(driver.read_text() + "\n# an edit of the compiler that changes no generated C\n")
    second = wyn.run("-rA", "-p", "no:randomly")
    second.assert_outcomes(passed=3, failed=1)
    second.stdout.fnmatch_lines(["compiled 3 file(s)*0 from the cache*"])  # the first level missed: a new compiler
    assert c_line(second.stdout.str()) == "C generated for 3 of them: 3 C compile(s) reused (the second cache level), 0 compiled"
    assert [ln for ln in first.outlines if ln.startswith(("PASSED", "FAILED"))] == [
        ln for ln in second.outlines if ln.startswith(("PASSED", "FAILED"))
    ]


def test_an_edit_that_changes_the_generated_c_compiles_that_file(wyn: WynProject) -> None:
    wyn.own_c_cache()
    for name, text in SUITE.items():
        wyn.write(name, text)
    wyn.run().assert_outcomes(passed=3, failed=1)
    wyn.write("test_pass.wyn", 'println("hello!")\n// EXPECT: hello\n')
    result = wyn.run()
    result.assert_outcomes(passed=2, failed=2)
    assert c_line(result.stdout.str()) == "C generated for 1 of them: 0 C compile(s) reused (the second cache level), 1 compiled"


def make_root(where: Path, header: str, library: str | None) -> Path:
    """A runtime root as Wyn's: src/wyn_runtime.h, and runtime/libwyn_rt.a built from ``library``."""
    from standin.compiler import RUNTIME_HEADER

    (where / "src").mkdir(parents=True, exist_ok=True)
    (where / "src" / "wyn_runtime.h").write_text(RUNTIME_HEADER + header)
    if library is not None:
        (where / "runtime").mkdir(exist_ok=True)
        (where / "rt.c").write_text(library)
        subprocess.run(["cc", "-c", "-o", str(where / "rt.o"), str(where / "rt.c")], check=True)
        (where / "runtime" / "libwyn_rt.a").unlink(missing_ok=True)
        subprocess.run(["ar", "rcs", str(where / "runtime" / "libwyn_rt.a"), str(where / "rt.o")], check=True)
    return where


ANSWER = '__c("extern int rt_answer(void); printf(\\"%d %d\\\\n\\", rt_answer(), HEADER_ANSWER);")\n// EXPECT: 42 7\n'


@pytest.mark.parametrize("edit", ["header", "library"])
def test_a_runtime_edit_is_never_served_stale(wyn: WynProject, tmp_path: Path, edit: str) -> None:
    """The header reaches the binary through the preprocessed C, the library by content: both are keyed."""
    wyn.own_c_cache()
    sys.path.insert(0, str(TESTS))
    root = make_root(tmp_path / "root", "#define HEADER_ANSWER 7\n", "int rt_answer(void) { return 42; }\n")
    wyn.monkeypatch.setenv("WYN_ROOT", str(root))
    wyn.write("test_answer.wyn", ANSWER)
    wyn.run().assert_outcomes(passed=1)
    if edit == "header":
        make_root(root, "#define HEADER_ANSWER 8\n", None)
    else:
        make_root(root, "#define HEADER_ANSWER 7\n", "int rt_answer(void) { return 43; }\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got:      '42 8'" if edit == "header" else "*got:      '43 7'"])
    assert c_line(result.stdout.str()).endswith("0 C compile(s) reused (the second cache level), 1 compiled")


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_a_users_wyn_cc_is_wrapped_and_a_c_compiler_swap_compiles_again(wyn: WynProject, tmp_path: Path) -> None:
    wyn.own_c_cache()
    log = tmp_path / "mycc.log"
    one = script(tmp_path / "one" / "mycc", f'echo run >> {log}\nexec cc -DWYN_CC_FLAG=1 "$@"\n')
    two = script(tmp_path / "two" / "mycc", 'exec cc -DWYN_CC_FLAG=2 "$@"\n')
    wyn.write("test_flag.wyn", '__c("exit(WYN_CC_FLAG == 1 ? 0 : 3);")\n')
    wyn.monkeypatch.setenv("WYN_CC", f"{one}")
    wyn.run().assert_outcomes(passed=1)
    assert log.read_text().count("run") == 2  # the preprocessing run and the compile, both through the user's
    wyn.monkeypatch.setenv("WYN_CC", f"{two}")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exited 3, expected 0*"])
    assert c_line(result.stdout.str()).endswith("0 C compile(s) reused (the second cache level), 1 compiled")


def test_a_host_failure_of_the_c_compiler_is_never_stored(wyn: WynProject, tmp_path: Path) -> None:
    store = wyn.own_c_cache()
    flag = tmp_path / "failed-once"
    flaky = script(
        tmp_path / "flaky" / "cc",
        f'if [ ! -e {flag} ] && [ "$1" != -E ] && ! echo "$*" | grep -q -- " -E "; then\n'
        f"  touch {flag}; echo 'gcc: fatal error: Killed signal terminated program cc1' >&2; exit 1\nfi\n"
        'exec cc "$@"\n',
    )
    wyn.monkeypatch.setenv("WYN_CC", str(flaky))
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    result = wyn.run()
    result.assert_outcomes(passed=1)
    assert "retried for host reasons" in result.stdout.str()
    assert len(list((store / "entries").glob("*/*/meta.json"))) == 1  # the good compile only


def test_the_second_level_can_be_switched_off_and_is_emptied_with_the_first(wyn: WynProject) -> None:
    store = wyn.own_c_cache()
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    wyn.monkeypatch.setenv("PYTEST_WYN_C_CACHE", "off")
    result = wyn.run()
    result.assert_outcomes(passed=1)
    assert c_line(result.stdout.str()) == ""
    wyn.monkeypatch.delenv("PYTEST_WYN_C_CACHE")
    wyn.run("--wyn-cache-clear").assert_outcomes(passed=1)
    assert len(list((store / "entries").glob("*/*/meta.json"))) == 1
    result = wyn.run("--wyn-cache-clear")  # both levels emptied: the C is compiled again
    assert c_line(result.stdout.str()).endswith("0 C compile(s) reused (the second cache level), 1 compiled")
