"""Against a real Wyn compiler ($WYN_REAL, or a `wyn` on PATH that is not the stand-in).

Skipped, with that reason, where there is none (CI has none). These files are
our own, written for Wyn v1.20.0.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import WynProject, real_wyn

REAL = real_wyn()
pytestmark = [
    pytest.mark.wyn_real,
    pytest.mark.skipif(REAL is None, reason="no real Wyn compiler: set WYN_REAL=/path/to/wyn (v1.20.0)"),
]


@pytest.fixture
def real(wyn: WynProject) -> WynProject:
    assert REAL is not None
    wyn.compiler.unlink()
    wyn.compiler.symlink_to(os.path.abspath(REAL))
    return wyn


def test_header_names_the_real_compiler(real: WynProject) -> None:
    real.write("test_a.wyn", "fn main() -> int {\n    return 0\n}\n")
    result = real.run()
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "Wyn v1.20.0" in out and "stand-in" not in out


def test_program_output_and_error_tests(real: WynProject) -> None:
    real.write("test_ok.wyn", 'fn main() -> int {\n    println("ok")\n    return 0\n}\n')
    real.write("test_out.wyn", '// EXPECT: 7\n// EXPECT: done\nvar x = 3 + 4\nprintln(x)\nprintln("done")\n')
    real.write("test_wrong.wyn", '// EXPECT: right\nprintln("wrong")\n')
    real.write("test_err.wyn", "// EXPECT_ERROR: Undefined variable\nprintln(nope)\n")
    real.write("test_checker.wyn", 'fn main() -> int {\n    println("a")\n    println(missing)\n    return 0\n}\n')
    real.write("test_syntax.wyn", 'fn main() -> int {\n    var x: int = "s"\n    return 0\n}\n')
    result = real.run()
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "test_wrong.wyn:1: output line 1 differs from EXPECT at line 1",
            "test_checker.wyn:3: compile error: Undefined variable 'missing'",
            "test_syntax.wyn:2: compile error: Type mismatch at line 2:0",
        ]
    )
    assert "\x1b[" not in result.stdout.str()
    assert sorted(p.name for p in real.path.iterdir() if p.name.endswith(".c")) == []


def test_blocks_pass_fail_and_panic(real: WynProject) -> None:
    real.write(
        "test_blocks.wyn",
        """
        fn add(a: int, b: int) -> int {
            return a + b
        }

        test "adds" {
            assert_eq(add(2, 3), 5)
        }

        test "adds wrong" {
            assert_eq(add(2, 2), 5)
        }

        test "neighbour" {
            assert(add(1, 1) == 3)
        }

        test "out of bounds" {
            var a = [1, 2, 3]
            var i = 7
            println(a[i])
        }

        test "never reached" {
            assert(true)
        }
        """,
    )
    result = real.run("-rf")
    result.assert_outcomes(passed=1, failed=4)
    out = result.stdout.str()
    result.stdout.fnmatch_lines_random(
        [
            "test_blocks.wyn:9: assert_eq failed: expected 5, got 4",
            "test_blocks.wyn:13: assert failed",
            "test_blocks.wyn:20: panic: array index out of bounds: index 7, length 3",
            "test_blocks.wyn:23: not run: the test binary aborted in block 'out of bounds'",
        ]
    )
    section = out.split("test 'adds wrong'")[1].split("test 'neighbour'")[0]
    assert "got:      4" in section and "assert failed" not in section


def test_imports_and_the_cache(real: WynProject) -> None:
    real.write("geo.wyn", "pub fn area(w: int, h: int) -> int {\n    return w * h\n}\n")
    real.write("test_geo.wyn", 'import geo\ntest "area" {\n    assert_eq(geo.area(3, 4), 12)\n}\n')
    real.run().assert_outcomes(passed=1)
    result = real.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["compiled 0 file(s)*1 from the cache*"])
    real.write("geo.wyn", "pub fn area(w: int, h: int) -> int {\n    return w + h\n}\n")
    real.run().assert_outcomes(failed=1)


def test_identity_covers_the_runtime_files(tmp_path: Path) -> None:
    """Copy the real toolchain's layout, edit one runtime header: the compiler identity changes."""
    from pytest_wyn.engine.toolchain import compiler_identity, runtime_files, runtime_root

    assert REAL is not None
    root = runtime_root(REAL)
    assert root is not None, "the real compiler's runtime (src/wyn_runtime.h) was not found"
    files = runtime_files(root)
    assert any(f.name == "wyn_runtime.h" for f in files) and any(f.suffix == ".a" for f in files)
    copy = tmp_path / "wyn-root"
    (copy / "src").mkdir(parents=True)
    (copy / "runtime").mkdir()
    shutil.copy2(os.path.realpath(REAL), copy / "wyn")
    for f in files:
        shutil.copy2(f, copy / f.relative_to(root))
    before = compiler_identity(str(copy / "wyn"), "v")
    header = copy / "src" / "wyn_runtime.h"
    header.write_text(header.read_text() + "\n/* changed */\n")
    assert compiler_identity(str(copy / "wyn"), "v") != before
    lib = next((copy / "runtime").glob("*.a"))
    before = compiler_identity(str(copy / "wyn"), "v")
    with lib.open("ab") as f:
        f.write(b"\0")
    assert compiler_identity(str(copy / "wyn"), "v") != before


def test_launcher_script_in_front_of_the_real_compiler(wyn: WynProject) -> None:
    assert REAL is not None
    wyn.compiler.write_text(f'#!/bin/sh\nexec {os.path.abspath(REAL)} "$@"\n')
    wyn.write("test_a.wyn", '// EXPECT: hi\nprintln("hi")\n')
    wyn.run().assert_outcomes(passed=1)


def test_blocks_the_real_parser_accepts_and_forged_result_lines(real: WynProject) -> None:
    real.write(
        "test_forms.wyn",
        'test "one"\n{\n    assert(1 == 2)\n}\ntest "two" /* note */ {\n    assert_eq(2, 3)\n}\n'
        'test "three" {\n    println("  \u2713 four")\n    assert(true)\n}\ntest "four" {\n    assert(false)\n}\n',
    )
    result = real.run("-v")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "test_forms.wyn::one FAILED*",
            "test_forms.wyn::two FAILED*",
            "test_forms.wyn::three PASSED*",
            "test_forms.wyn::four FAILED*",
        ]
    )


def test_expect_lines_of_a_block_file_and_a_bless_round_trip(real: WynProject) -> None:
    real.write("test_mixed.wyn", 'test "globals" {\n    println("globals ok")\n}\n\n// EXPECT: globals ok\n')
    real.write("test_out.wyn", '// EXPECT: 6\n// EXPECT: old\nvar x = 2 * 3\nprintln(x)\nprintln("new")\n')
    real.run().assert_outcomes(passed=2, failed=1)
    result = real.run("--wyn-update", "-v")
    result.stdout.fnmatch_lines(["test_out.wyn::test_out UPDATED*", "updated 1 file(s), 1 line(s)*"])
    assert "// EXPECT: 6\n// EXPECT: new\n" in (real.path / "test_out.wyn").read_text()
    real.run().assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        ("tests/m.wyn", "modules/m.wyn"),  # the entry file's directory before ./modules
        ("m.wyn", "modules/m.wyn"),  # the working directory before ./modules (the parent of tests/ is ".")
        ("modules/m.wyn", "wyn_modules/m.wyn"),
        ("wyn_modules/m.wyn", "stdlib/m.wyn"),
    ],
)
def test_deps_finds_the_module_real_wyn_compiles(real: WynProject, winner: str, loser: str) -> None:
    """deps.py's search order against the real compiler's: the module it keys on is the one compiled."""
    from pytest_wyn.engine.deps import resolve

    for where, value in ((winner, 1), (loser, 2)):
        real.write(where, f"pub fn f() -> int {{\n    return {value}\n}}\n")
    real.write("tests/test_imp.wyn", "import m\n// EXPECT: 1\nprintln(m.f())\n")
    real.run().assert_outcomes(passed=1)
    assert os.path.normpath(resolve("m", "tests", real.path) or "") == os.path.normpath(winner)


def test_a_second_machine_takes_the_real_compilers_binaries_from_the_remote_cache(
    real: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared cache with real binaries: the reader compiles nothing and gets the writer's verdicts."""
    pytest.importorskip("cryptography")
    from servers import make_key, running, start_wsgidav

    real.write("test_ok.wyn", 'fn main() -> int {\n    println("ok")\n    return 0\n}\n')
    real.write("test_wrong.wyn", '// EXPECT: right\nprintln("wrong")\n')
    real.write("test_err.wyn", 'fn main() -> int {\n    println(missing)\n    return 0\n}\n')
    public = make_key(tmp_path / "key", "ci")
    with running(start_wsgidav(tmp_path / "dav")) as dav:
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", dav.url)
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", public)
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_WRITE", "1")
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", str(tmp_path / "key"))
        written = real.run("-rA")
        written.assert_outcomes(passed=1, failed=2)
        written.stdout.fnmatch_lines(["remote cache: *3 uploaded"])
        monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE_WRITE")
        monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(tmp_path / "fresh-machine-cache"))
        read = real.run("-rA")
    read.assert_outcomes(passed=1, failed=2)
    read.stdout.fnmatch_lines(["compiled 0 file(s)*3 from the cache*", "remote cache: 3 of 3 file(s) missing here fetched*"])
    short = [line for line in read.stdout.lines if line.startswith(("PASSED", "FAILED"))]
    assert short == [line for line in written.stdout.lines if line.startswith(("PASSED", "FAILED"))]


def test_the_second_level_reuses_c_compiles_after_a_compiler_edit(wyn: WynProject, tmp_path: Path) -> None:
    """Issue 29 with the real compiler: a copy of its tree, whose executable then changes (a rebuild that
    leaves the generated C alone): every file misses the first level and reuses its C compile."""
    assert REAL is not None
    real_dir = Path(os.path.realpath(REAL)).parent
    tree = tmp_path / "wyn-tree"
    tree.mkdir()
    shutil.copytree(real_dir / "src", tree / "src", ignore=shutil.ignore_patterns("*.c", "*.o"))
    shutil.copytree(real_dir / "runtime", tree / "runtime")
    shutil.copy2(real_dir / "wyn", tree / "wyn")
    wyn.compiler.unlink()
    wyn.compiler.symlink_to(tree / "wyn")
    wyn.own_c_cache()
    wyn.write("test_a.wyn", '// EXPECT: 7\nvar x = 3 + 4\nprintln(x)\n')
    wyn.write("test_b.wyn", 'test "one" {\n    assert(1 == 1)\n}\ntest "two" {\n    assert_eq(1, 2)\n}\n')
    first = wyn.run("-rA", "-p", "no:randomly")
    first.assert_outcomes(passed=2, failed=1)
    first.stdout.fnmatch_lines(["C generated for 2 of them: 0 C compile(s) reused (the second cache level), 2 compiled"])
    with open(tree / "wyn", "ab") as exe:
        exe.write(b"\0rebuilt")  # another executable, the same code generator
    second = wyn.run("-rA", "-p", "no:randomly")
    second.assert_outcomes(passed=2, failed=1)
    second.stdout.fnmatch_lines(
        ["compiled 2 file(s)*", "C generated for 2 of them: 2 C compile(s) reused (the second cache level), 0 compiled"]
    )


def test_golden_snapshots_of_the_real_compiler(real: WynProject) -> None:
    import subprocess

    from pytest_wyn.engine.golden import normalized

    source = real.write("tests/golden/01_sum.wyn", "var total = 0\nfor i in 0..4 {\n    total = total + i\n}\nprintln(total)\n")
    subprocess.run([str(real.compiler), "build", str(source), "--debug"], cwd=real.path, check=True, capture_output=True)
    c_file = Path(f"{source}.c")
    (source.parent / "01_sum.c.golden").write_bytes(normalized(c_file.read_bytes(), "01_sum"))
    c_file.unlink()
    Path(str(source)[:-4]).unlink(missing_ok=True)
    real.run().assert_outcomes(passed=1)
    real.write("tests/golden/01_sum.wyn", "var total = 1\nfor i in 0..4 {\n    total = total + i\n}\nprintln(total)\n")
    result = real.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["the generated C differs from tests/golden/01_sum.c.golden at line *"])
