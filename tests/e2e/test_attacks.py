"""Issue 6: hostile files, misbehaving binaries and toolchains, faults in the cache and process tree.

Each attack runs a real pytest session and asserts what the user sees and
that nothing is lost, stale or left behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import WynProject, processes_with, wait_until

HELLO = '// EXPECT: hello\nprintln("hello")\n'
PASSING = "fn main() -> int {\n    return 0\n}\n"


# ---------------------------------------------------------------- hostile files and trees


def test_empty_file_is_a_program_test(wyn: WynProject) -> None:
    wyn.write("test_empty.wyn", "")
    wyn.run().assert_outcomes(passed=1)


def test_binary_file_and_directory_named_like_tests(wyn: WynProject) -> None:
    (wyn.path / "test_blob.wyn").write_bytes(bytes(range(256)) * 4)
    (wyn.path / "test_dir.wyn").mkdir()
    (wyn.path / "test_dir.wyn" / "test_inner.wyn").write_text(PASSING)
    wyn.write("test_ok.wyn", PASSING)
    result = wyn.run()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["test_blob.wyn:1: cannot collect: this is not a text file (it contains NUL bytes)"])


def test_symlink_loop_in_the_tree(wyn: WynProject) -> None:
    wyn.write("tests/test_ok.wyn", PASSING)
    (wyn.path / "tests" / "loop").symlink_to(wyn.path / "tests")
    (wyn.path / "tests" / "dangling.wyn").symlink_to(wyn.path / "nowhere.wyn")
    # pytest follows the symlinked directory until the OS says ELOOP: each level is another path.
    result = wyn.run_subprocess("tests", timeout=120)
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and set(outcomes) == {"passed"} and outcomes["passed"] >= 2, result.stdout.str()
    assert "loop/test_ok.wyn" in wyn.run("tests", "--collect-only", "-q").stdout.str()
    assert "test_ok.wyn::test_ok PASSED" in wyn.run("tests/test_ok.wyn", "-v").stdout.str()


def test_file_deleted_between_collection_and_run(wyn: WynProject) -> None:
    wyn.write("test_gone.wyn", PASSING)
    wyn.write("test_stays.wyn", PASSING)
    wyn.write("conftest.py", "def pytest_collection_finish(session):\n    import os\n    os.remove('test_gone.wyn')\n")
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_gone.wyn:1: cannot read the file to compile it: No such file or directory*"])


def test_file_changed_between_collection_and_run_is_judged_as_it_is_now(wyn: WynProject) -> None:
    wyn.write("test_changes.wyn", HELLO)
    wyn.write(
        "conftest.py",
        "def pytest_collection_finish(session):\n"
        "    open('test_changes.wyn', 'w').write('// EXPECT: hello\\nprintln(\"changed\")\\n')\n",
    )
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got:      'changed'*"])


def test_extremely_long_lines_and_names(wyn: WynProject) -> None:
    long_name = "n" * 5000
    wyn.write("test_long.wyn", f'test "{long_name}" {{\n    assert(true)\n}}\n// {"x" * 1_000_000}\n')
    result = wyn.run("-q")
    result.assert_outcomes(passed=1)


def test_crlf_line_endings(wyn: WynProject) -> None:
    (wyn.path / "test_crlf.wyn").write_bytes(b'// EXPECT: hi\r\nprintln("hi")\r\n')
    (wyn.path / "test_crlf_blocks.wyn").write_bytes(
        b'test "a" {\r\n    assert(true)\r\n}\r\ntest "b" {\r\n    assert(false)\r\n}\r\n'
    )
    result = wyn.run("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines_random(["*test_crlf_blocks.wyn::b FAILED*", "test_crlf_blocks.wyn:4: assert failed"])


def test_same_basename_in_two_directories(wyn: WynProject) -> None:
    wyn.write("a/test_same.wyn", '// EXPECT: a\nprintln("a")\n')
    wyn.write("b/test_same.wyn", '// EXPECT: b\nprintln("b")\n')
    wyn.run("-v").assert_outcomes(passed=2)
    wyn.run_subprocess("-n", "2").assert_outcomes(passed=2)
    assert sorted(wyn.compiles()) == ["a/test_same.wyn", "b/test_same.wyn"]


# ---------------------------------------------------------------- misbehaving binaries


def test_hang_is_killed_with_its_children_and_nothing_is_left(wyn: WynProject) -> None:
    tag = f"{os.getpid() % 1000 + 1000}.25"
    wyn.write(
        "test_hang.wyn",
        f'// TIMEOUT: 1\n__c("if (fork() == 0) {{ execlp(\\"sleep\\", \\"sleep\\", \\"{tag}\\", (char *)0); }}")\nwhile true {{\n}}\n',
    )
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 1 s; the test binary and its children were killed*"])
    assert wait_until(lambda: processes_with(f"sleep {tag}") == [], 5), processes_with(f"sleep {tag}")


def test_child_that_outlives_the_binary_is_killed(wyn: WynProject) -> None:
    tag = f"{os.getpid() % 1000 + 2000}.5"
    wyn.write(
        "test_orphan.wyn",
        f'__c("if (fork() == 0) {{ execlp(\\"sleep\\", \\"sleep\\", \\"{tag}\\", (char *)0); }}")\nprintln("parent done")\n',
    )
    # The orphan would sleep for half an hour: a run that waited for it would time out here.
    wyn.run_subprocess("-n0", timeout=60).assert_outcomes(passed=1)
    assert wait_until(lambda: processes_with(f"sleep {tag}") == [], 5), processes_with(f"sleep {tag}")


def test_flood_of_output_keeps_memory_bounded(wyn: WynProject, tmp_path: Path) -> None:
    wyn.write(
        "test_flood.wyn",
        "// EXPECT: nope\n__c(\"static char line[1024]; memset(line, 'x', 1023); for (int i = 0; i < 110000; i++) puts(line);\")\n",
    )
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'pytest', '-n0', '-p', 'no:cacheprovider'], capture_output=True, text=True)\n"
        "print(p.stdout[-3000:])\n"
        "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, str(probe)], cwd=wyn.path, capture_output=True, text=True, timeout=300).stdout
    assert "1 failed" in out
    assert "bytes of output" in out or "was cut" in out
    maxrss_mb = int(re.search(r"MAXRSS_KB (\d+)", out).group(1)) / 1024  # type: ignore[union-attr]
    print(f"max RSS of pytest and its children: {maxrss_mb:.0f} MB")
    assert maxrss_mb < 150, f"pytest used {maxrss_mb:.0f} MB for 113 MB of test output"


def test_invalid_utf8_and_nul_bytes_in_output(wyn: WynProject) -> None:
    wyn.write(
        "test_bytes.wyn",
        '// EXPECT: ok\n// EXPECT: two\n__c("fwrite(\\"\\\\377\\\\376\\\\000bad\\\\n\\", 1, 7, stdout);")\n',
    )
    result = wyn.run("-rA")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "output line 1 differs from EXPECT at line 1" in out
    assert "\ufffd" in out or "\\ufffd" in out or "\\x00" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("code", "name"), [("raise(SIGSEGV);", "SIGSEGV"), ("abort();", "SIGABRT"), ("raise(SIGKILL);", "SIGKILL")]
)
def test_death_by_signal_is_named(wyn: WynProject, code: str, name: str) -> None:
    wyn.write("test_die.wyn", f'println("before")\n__c("{code}")\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*the test binary was killed by {name}*"])


def test_stack_overflow_exit_139(wyn: WynProject) -> None:
    wyn.write("test_overflow.wyn", "exit(139)\n")
    wyn.write(
        "test_blocks.wyn",
        'test "a" {\n    assert(true)\n}\ntest "deep" {\n    exit(139)\n}\ntest "c" {\n    assert(true)\n}\n',
    )
    result = wyn.run()
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*exited 139, expected 0 (segmentation fault or stack overflow)*",
            "*test_blocks.wyn:4: the test binary exited 139*",
            "*not run: the test binary aborted in block 'deep'*",
        ]
    )


def test_binary_that_deletes_or_overwrites_itself(wyn: WynProject) -> None:
    wyn.write(
        "test_selfharm.wyn",
        '__c("char p[4096]; ssize_t n = readlink(\\"/proc/self/exe\\", p, sizeof p - 1); p[n] = 0; unlink(p);'
        ' FILE *f = fopen(p, \\"w\\"); if (f) { fputs(\\"garbage\\", f); fclose(f); }")\nprintln("still here")\n',
    )
    wyn.run().assert_outcomes(passed=1)
    wyn.run().assert_outcomes(passed=1)
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 1  # the cache entry was never touched: runs use a private copy


def test_binary_that_edits_its_own_source_is_never_judged_stale(wyn: WynProject) -> None:
    wyn.write(
        "test_edits.wyn",
        '__c("FILE *f = fopen(\\"test_edits.wyn\\", \\"w\\"); fputs(\\"exit(3)\\\\n\\", f); fclose(f);")\nprintln("first")\n',
    )
    wyn.run().assert_outcomes(passed=1)
    assert (wyn.path / "test_edits.wyn").read_text() == "exit(3)\n"
    result = wyn.run()
    result.assert_outcomes(failed=1)  # judged on the new source, not the cached binary
    result.stdout.fnmatch_lines(["*exited 3, expected 0*"])
    assert len(wyn.compiles()) == 2


# ---------------------------------------------------------------- a misbehaving toolchain


def test_compiler_not_executable(wyn: WynProject) -> None:
    wyn.compiler.chmod(0o644)
    wyn.write("test_a.wyn", PASSING)
    result = wyn.run("--wyn-compiler=./wyn")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "not an executable file" in result.stderr.str()


@pytest.mark.parametrize(
    ("mode", "message", "compiles"),
    [
        ("silent", "the compiler exited 1 without any diagnostic", 2),
        ("garbage", "the compiler exited 1 without any diagnostic on the source", 2),
        ("buildfailed", "the compiler exited 1 without any diagnostic on the source (it printed only '\u2717 Build failed')", 2),
        ("nobinary", "the compiler exited 0 but wrote no binary", 1),
        ("noexec", "the compiler exited 0 but the file it wrote is not executable", 1),
    ],
)
def test_broken_compiler_outputs(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch, mode: str, message: str, compiles: int
) -> None:
    monkeypatch.setenv("WYN_STANDIN_CRASH", mode)
    wyn.ini("wyn_compile_retries = 1\n")
    wyn.write("test_a.wyn", PASSING)
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stdout.str()
    assert len(wyn.compiles()) == compiles
    monkeypatch.delenv("WYN_STANDIN_CRASH")
    wyn.run().assert_outcomes(passed=1)  # none of these is cached: the next run passes


# ---------------------------------------------------------------- faults in the cache and the process tree


def test_worker_killed_mid_compile(wyn: WynProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "20")
    wyn.write("test_victim.wyn", HELLO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider"],
        cwd=wyn.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    worker = None
    while time.monotonic() < deadline and worker is None:
        for pid in processes_with("wyn_standin.py build test_victim.wyn"):
            try:
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent not in (proc.pid, 1):
                worker = parent
        time.sleep(0.2)
    assert worker is not None, "no compile started"
    os.kill(worker, signal.SIGKILL)
    out = proc.communicate(timeout=120)[0].decode()
    assert "crashed while running 'test_victim.wyn::test_victim'" in out, out
    assert wait_until(lambda: processes_with("wyn_standin.py build test_victim.wyn") == [], 5), (
        "the compile outlived its worker"
    )
    assert wait_until(lambda: not [p for p in wyn.path.iterdir() if p.name.endswith(".c")], 5)
    monkeypatch.delenv("WYN_STANDIN_DELAY")
    wyn.run_subprocess("-n0", timeout=60).assert_outcomes(passed=1)  # nothing broken served; a stale lock would hang


def test_killed_build_leaves_its_c_file_and_the_next_build_removes_it(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "20")
    wyn.write("test_a.wyn", HELLO)
    wyn.ini("wyn_compile_command = sh -c 'touch {source}.c; exec {compiler} build {source} -o {output}'\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-n0", "-p", "no:cacheprovider"],
        cwd=wyn.path,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not (wyn.path / "test_a.wyn.c").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (wyn.path / "test_a.wyn.c").exists()
    monkeypatch.delenv("WYN_STANDIN_DELAY")
    wyn.run().assert_outcomes(passed=1)
    assert not (wyn.path / "test_a.wyn.c").exists()


def test_entry_without_metadata_is_rebuilt(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    (entry,) = [p for p in (wyn.cache / "entries").glob("*/*")]
    (entry / "meta.json").unlink()  # as if killed in the middle of publishing
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2
    wyn.run().assert_outcomes(passed=1)
    assert len(wyn.compiles()) == 2


def test_abandoned_staging_builds_are_swept(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run()
    stale = wyn.cache / "staging" / "build-abandoned"
    stale.mkdir()
    (stale / "binary").write_bytes(b"half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    wyn.run()
    assert not stale.exists()


def test_cache_deleted_during_the_run(wyn: WynProject) -> None:
    for n in range(3):
        wyn.write(f"test_{n}.wyn", HELLO)
    wyn.write(
        "conftest.py",
        f"import shutil\ndef pytest_runtest_setup(item):\n    shutil.rmtree({str(wyn.cache)!r}, ignore_errors=True)\n",
    )
    result = wyn.run()
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*the compile cache cannot be written (No such file or directory)*"])


def test_full_filesystem(wyn: WynProject, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=28k", "tmpfs", str(small)], capture_output=True).returncode
        == 0
    )
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        wyn.write("test_c.wyn", HELLO.replace("hello", "hello c"))
        wyn.run(f"--wyn-cache-dir={small / 'cache'}").assert_outcomes(passed=1)  # one entry fits
        wyn.write("test_a.wyn", HELLO)
        wyn.write("test_b.wyn", HELLO.replace("hello", "hello b"))
        result = wyn.run(f"--wyn-cache-dir={small / 'cache'}")
        result.assert_outcomes(passed=3, warnings=1)
        result.stdout.fnmatch_lines(["*the compile cache cannot be written (No space left on device)*"])
        # After the failed write, test_c (collected after it) is still served from the cache.
        result.stdout.fnmatch_lines(["compiled 2 file(s) in * s, 1 from the cache*"])
        result = wyn.run(f"--wyn-cache-dir={small / 'cache'}")
        result.assert_outcomes(passed=3)  # what did not fit is compiled again, never served half-written
        assert len(wyn.compiles()) >= 5
    finally:
        subprocess.run(["umount", str(small)])


@pytest.mark.slow
def test_two_sessions_with_twelve_workers_each_share_one_cache(
    wyn: WynProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WYN_STANDIN_DELAY", "0.3")
    for n in range(16):
        wyn.write(f"test_{n}.wyn", HELLO)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-n", "12", "-p", "no:cacheprovider"],
            cwd=wyn.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all("16 passed" in o for o in outs)
    assert sorted(wyn.compiles()) == sorted(f"test_{n}.wyn" for n in range(16))
