"""Issue 4: the content-addressed compile cache flips verdicts exactly as an uncached run would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import STANDIN, WynProject, launcher_text

HELLO = '// EXPECT: hello\nprintln("hello")\n'


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "entries").glob("*/*") if p.is_dir())


def test_unchanged_file_is_never_compiled_twice(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.write("test_b.wyn", 'test "t" {\n    assert(true)\n}\n')
    wyn.run().assert_outcomes(passed=2)
    result = wyn.run()
    result.assert_outcomes(passed=2)
    assert sorted(wyn.compiles()) == ["test_a.wyn", "test_b.wyn"]
    result.stdout.fnmatch_lines(["compiled 0 file(s) in 0.0 s, 2 from the cache (saved * s of compiling)"])


def test_editing_the_test_flips_the_verdict(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    wyn.write("test_a.wyn", '// EXPECT: hello\nprintln("bye")\n')
    wyn.run().assert_outcomes(failed=1)
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2  # the third run is the first version again: a hit


def test_editing_an_imported_module_flips_the_verdict(wyn: WynProject) -> None:
    wyn.write("lib.wyn", "pub fn two() -> int {\n    return 2\n}\n")
    wyn.write("test_a.wyn", 'import lib\ntest "two" {\n    assert_eq(lib.two(), 2)\n}\n')
    wyn.run().assert_outcomes(passed=1)
    wyn.write("lib.wyn", "pub fn two() -> int {\n    return 3\n}\n")
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 2


def test_editing_a_module_of_a_module_flips_the_verdict(wyn: WynProject) -> None:
    wyn.write("leaf.wyn", "pub fn value() -> int {\n    return 1\n}\n")
    wyn.write("middle.wyn", "import leaf\npub fn value() -> int {\n    return leaf.value() + 1\n}\n")
    wyn.write("test_a.wyn", 'import middle\ntest "chain" {\n    assert_eq(middle.value(), 2)\n}\n')
    wyn.run().assert_outcomes(passed=1)
    wyn.write("leaf.wyn", "pub fn value() -> int {\n    return 5\n}\n")
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 2


def test_creating_a_missing_module_changes_the_key(wyn: WynProject) -> None:
    wyn.write("tests/test_a.wyn", 'import extra\ntest "x" {\n    assert_eq(extra.seven(), 7)\n}\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)  # extra.seven is undefined: a cached compile error
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 1
    wyn.write("modules/extra.wyn", "pub fn seven() -> int {\n    return 7\n}\n")  # ./modules, found 5th
    wyn.run().assert_outcomes(passed=1)
    wyn.write("tests/extra.wyn", "pub fn seven() -> int {\n    return 8\n}\n")  # beside the test: shadows it
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 3


def test_replacing_the_compiler_flips_the_verdict(wyn: WynProject, tmp_path: Path) -> None:
    shutil.copytree(STANDIN.parent / "standin", tmp_path / "copy" / "standin")
    copy = tmp_path / "copy" / "wyn_standin.py"
    shutil.copy(STANDIN, copy)
    wyn.compiler.write_text(launcher_text(copy))
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    generator = tmp_path / "copy" / "standin" / "compiler.py"
    text = generator.read_text()
    assert 'printf("%s\\n", s);' in text
    generator.write_text(text.replace('printf("%s\\n", s);', 'printf("v2 %s\\n", s);'))
    wyn.run().assert_outcomes(failed=1)
    assert len(wyn.compiles()) == 2


def test_changing_compile_arguments_recompiles(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    wyn.run("--wyn-compile-args=--release").assert_outcomes(passed=1)
    wyn.run("--wyn-compile-args=--release").assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2


def test_changing_wyn_cc_flips_the_verdict(wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken_cc = tmp_path / "brokencc"
    broken_cc.write_text("#!/bin/sh\necho 'cc: internal compiler error: deliberately broken' >&2\nexit 1\n")
    broken_cc.chmod(0o755)
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    monkeypatch.setenv("WYN_CC", str(broken_cc))
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deliberately broken*"])
    monkeypatch.delenv("WYN_CC")
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2


@pytest.mark.parametrize("damage", ["flip", "truncate", "metadata"])
def test_damaged_entry_is_discarded_rebuilt_and_reported(wyn: WynProject, damage: str) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    (entry,) = entries(wyn.cache)
    binary = entry / "binary"
    data = bytearray(binary.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        binary.write_bytes(bytes(data))
    elif damage == "truncate":
        binary.write_bytes(bytes(data[:100]))
    else:
        (entry / "meta.json").write_text("{not json")
    result = wyn.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*cache entry * was damaged*"])
    assert len(wyn.compiles()) == 2
    wyn.run().assert_outcomes(passed=1)  # and the rebuilt entry is whole
    assert len(wyn.compiles()) == 2


def test_compile_failures_are_cached_but_host_failures_are_not(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    wyn.write("test_broken.wyn", "println(nope)\n")
    wyn.write("test_err.wyn", "// EXPECT_ERROR: Undefined variable\nprintln(nope)\n")
    wyn.run().assert_outcomes(passed=1, failed=1)
    wyn.run().assert_outcomes(passed=1, failed=1)
    assert len(wyn.compiles()) == 2
    wyn.write("test_host.wyn", HELLO)
    monkeypatch.setenv("WYN_STANDIN_CRASH", "segv")
    wyn.ini("wyn_compile_retries = 1\n")
    result = wyn.run("test_host.wyn")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the compiler was killed by SIGSEGV*", "*1 build(s) retried for host reasons*"])
    monkeypatch.delenv("WYN_STANDIN_CRASH")
    wyn.run("test_host.wyn").assert_outcomes(passed=1)  # the crash was not cached


def test_unwritable_cache_runs_uncached_with_one_warning(wyn: WynProject, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    wyn.write("test_a.wyn", HELLO)
    wyn.write("test_b.wyn", HELLO)
    result = wyn.run(f"--wyn-cache-dir={blocker / 'cache'}", "--junitxml=out.xml", "-o", "junit_family=xunit1")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*pytest-wyn cache: * is not writable*running without the cache*"])
    assert 'name="wyn_cache" value="off"' in (wyn.path / "out.xml").read_text()


def test_no_cache_and_cache_clear(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    wyn.run("--wyn-no-cache").assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2
    assert len(entries(wyn.cache)) == 1
    wyn.run("--wyn-cache-clear").assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 3


def test_group_writable_or_foreign_cache_dir_is_refused(wyn: WynProject, tmp_path: Path) -> None:
    wyn.write("test_a.wyn", HELLO)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    result = wyn.run(f"--wyn-cache-dir={shared}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "can be written by group or others" in result.stderr.str()
    if os.getuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 65534, 65534)
        result = wyn.run(f"--wyn-cache-dir={foreign}")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "belongs to another user" in result.stderr.str()


def test_odd_paths_work(wyn: WynProject) -> None:
    wyn.write('it\'s a "dir" with ünïcode/test_a.wyn', HELLO)
    wyn.run().assert_outcomes(passed=1)
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 1


def test_junit_properties_say_hit_or_miss(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    for expected in ("miss", "hit"):
        wyn.run("--junitxml=out.xml", "-o", "junit_family=xunit1")
        props = {p.get("name"): p.get("value") for p in ET.parse(wyn.path / "out.xml").getroot().iter("property")}
        assert props["wyn_cache"] == expected
        assert float(props["wyn_compile_seconds"]) > 0


def test_least_recently_used_entries_are_evicted(wyn: WynProject) -> None:
    for name in ("a", "b", "c"):
        wyn.write(f"test_{name}.wyn", HELLO)
    wyn.run().assert_outcomes(passed=3)
    assert len(entries(wyn.cache)) == 3
    size = sum(f.stat().st_size for e in entries(wyn.cache) for f in e.iterdir())
    wyn.ini(f"wyn_cache_max_size = {size // 3 + 10}\n")
    wyn.run("test_a.wyn").assert_outcomes(passed=1)  # a is now the most recently used
    left = entries(wyn.cache)
    assert len(left) == 1
    wyn.run("test_a.wyn").assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 3


def test_source_edited_during_compile_is_not_cached(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    # A compile that edits the source while it compiles (like an editor saving meanwhile).
    wyn.ini("wyn_compile_command = sh -c '{compiler} build {source} -o {output}; rc=$?; echo >> {source}; exit $rc'\n")
    wyn.run().assert_outcomes(passed=1)
    assert entries(wyn.cache) == []


def _popen_pytest(wyn: WynProject, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=wyn.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_concurrent_sessions_compile_each_key_once(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "0.5")
    for n in range(4):
        wyn.write(f"test_{n}.wyn", HELLO.replace("hello", f"hello {n}"))
    first = _popen_pytest(wyn, "-n", "2")
    second = _popen_pytest(wyn, "-n", "2")
    outs = [p.communicate(timeout=300)[0].decode() for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert sorted(wyn.compiles()) == [f"test_{n}.wyn" for n in range(4)]


def test_sigkilled_compile_leaves_nothing_that_is_served(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "30")
    wyn.write("test_a.wyn", HELLO)
    proc = _popen_pytest(wyn, "-n0")
    deadline = time.monotonic() + 60
    while not wyn.compiles() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wyn.compiles(), "the compile never started"
    os.killpg(proc.pid, signal.SIGKILL)  # pytest and the compiler it was running
    proc.wait()
    assert entries(wyn.cache) == []
    monkeypatch.delenv("WYN_STANDIN_DELAY")
    wyn.run_subprocess("-n0", timeout=60).assert_outcomes(passed=1)  # no broken entry; a stale lock would hang
    assert len(wyn.compiles()) == 2


def test_metadata_records_size_and_hash(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run()
    (entry,) = entries(wyn.cache)
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["status"] == "ok"
    assert meta["binary_size"] == (entry / "binary").stat().st_size
    assert len(meta["binary_sha256"]) == 64


def test_builds_of_one_source_never_overlap_even_across_caches(wyn: WynProject, tmp_path: Path) -> None:
    """Two sessions with different caches compile the same file: the source lock serialises them."""
    wyn.write("test_a.wyn", HELLO)
    wyn.ini(
        "wyn_compile_command = sh -c 'mkdir {source}.busy || { echo OVERLAP; exit 1; }; "
        "{compiler} build {source} -o {output}; rc=$?; rmdir {source}.busy; exit $rc'\n"
    )
    procs = []
    for n in range(2):
        env = dict(os.environ, PYTEST_WYN_CACHE_DIR=str(tmp_path / f"cache{n}"), WYN_STANDIN_DELAY="1")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "pytest", "-n0", "-p", "no:cacheprovider"],
                cwd=wyn.path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    outs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert not any("OVERLAP" in o for o in outs)
    assert len(wyn.compiles()) == 2
