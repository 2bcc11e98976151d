"""Issue 14 (interrupts): every way out of a session kills what it started and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import WynProject, interruptible, processes_with, wait_until

NEEDS_ADDRESS_SPACE_LIMIT = pytest.mark.skipif(
    os.environ.get("PYTEST_WYN_HARNESS") == "macos-like", reason="macOS has no address-space limit (harness)"
)


def start_pytest(wyn: WynProject, *args: str) -> subprocess.Popen[bytes]:
    """pytest in its own process group, as a terminal runs it (Ctrl-C reaches the whole group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=wyn.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=interruptible,
    )


def test_ctrl_c_while_a_binary_runs_kills_it(wyn: WynProject) -> None:
    tag = f"spin{os.getpid()}ctrlc"
    wyn.write(f"test_{tag}.wyn", "while true {\n}\n")
    proc = start_pytest(wyn, "-n0")
    assert wait_until(lambda: processes_with(f"/test_{tag}") != [], 30), "the binary never started"
    os.killpg(proc.pid, signal.SIGINT)
    out = proc.communicate(timeout=60)[0].decode()
    assert "KeyboardInterrupt" in out
    assert wait_until(lambda: processes_with(f"/test_{tag}") == [], 5), processes_with(tag)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupting_a_cold_parallel_run_leaves_no_generated_c_and_no_compiler(
    wyn: WynProject, how: signal.Signals
) -> None:
    wyn.monkeypatch.setenv("WYN_STANDIN_DELAY", "3")
    tag = f"intr{os.getpid()}x{int(how)}"  # only this test's compiles: other tests compile meanwhile
    for n in range(4):
        wyn.write(f"tests/test_{tag}_{n}.wyn", f'// EXPECT: {n}\nprintln("{n}")\n')
    proc = start_pytest(wyn, "-n", "2")
    standin = f"wyn_standin.py build tests/test_{tag}_"
    assert wait_until(lambda: len(processes_with(standin)) >= 2, 60), "no compile started"
    os.killpg(proc.pid, how) if how == signal.SIGINT else os.kill(proc.pid, how)
    proc.communicate(timeout=60)
    # The compilers die with whoever started them, and FILE.wyn.c goes with them.
    assert wait_until(lambda: processes_with(standin) == [], 15), processes_with(standin)
    assert wait_until(lambda: not list(wyn.path.glob("tests/*.wyn.c")), 15), list(wyn.path.glob("tests/*.wyn.c"))
    # The next run compiles and passes, and leaves the tree as it was.
    wyn.monkeypatch.delenv("WYN_STANDIN_DELAY")
    wyn.run_subprocess().assert_outcomes(passed=4)
    assert not list(wyn.path.glob("tests/*.wyn.c"))


def test_run_directories_of_killed_processes_are_swept(wyn: WynProject) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = Path(tempfile.mkdtemp(prefix=f"pytest-wyn-run-{dead.stdout.strip()}-"))
    (stale / "1").mkdir()
    live = Path(tempfile.mkdtemp(prefix=f"pytest-wyn-run-{os.getpid()}-"))
    try:
        wyn.write("test_a.wyn", "fn main() -> int {\n    return 0\n}\n")
        wyn.run().assert_outcomes(passed=1)
        assert not stale.exists()
        assert live.exists()  # a living process's directory is left alone
    finally:
        live.rmdir()


def test_a_binary_over_its_cpu_limit_is_killed_and_says_why() -> None:
    from pytest_wyn.engine.judge import run_failure
    from pytest_wyn.engine.process import Limits, child_env, run_bounded

    spin = [sys.executable, "-c", "while True: pass"]
    done = run_bounded(spin, cwd="/", env=child_env(), timeout=60, limit=1024, limits=Limits(cpu_seconds=1))
    assert done.signal == signal.SIGXCPU
    assert run_failure(done, 0.5) == (
        "exceeded the CPU limit of 1 s (twice the timeout) and was killed; "
        "raise the timeout with // TIMEOUT: N or --wyn-timeout=S"
    )


@NEEDS_ADDRESS_SPACE_LIMIT
def test_memory_limit_is_applied_and_named_when_a_binary_crashes_under_it(wyn: WynProject) -> None:
    wyn.write(
        "test_hog.wyn",
        # It waits a moment first: the limit is set right after the start (see the next test for one that
        # is over it by then), and this test is about how a binary refused memory under it is reported.
        '__c("usleep(200000); char *p = malloc(300 << 20); if (!p) { abort(); } memset(p, 1, 300 << 20);")\n'
        'println("got it")\n',
    )
    result = wyn.run("--wyn-memory-limit=64MiB")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the test binary was killed by SIGABRT; it may have exceeded the memory limit of 64 MiB (wyn_memory_limit)*"]
    )
    wyn.run("--wyn-memory-limit=none").assert_outcomes(passed=1)
    wyn.run().assert_outcomes(passed=1)  # the default leaves room for ordinary tests


@pytest.mark.parametrize("mode", [["-n", "0"], []], ids=["serial", "run-ahead"])
def test_a_binary_that_kills_pytest_itself_is_named_by_the_next_session(wyn: WynProject, mode: list[str]) -> None:
    wyn.write("test_killer.wyn", '__c("kill(getppid(), SIGKILL);")\n')
    wyn.write("test_fine.wyn", "fn main() -> int {\n    return 0\n}\n")
    first = wyn.run_subprocess(*mode, timeout=120)
    assert first.ret == -signal.SIGKILL  # pytest itself was killed: it could say nothing
    wyn.write("test_killer.wyn", "fn main() -> int {\n    return 0\n}\n")
    second = wyn.run_subprocess(*mode, timeout=120)
    second.assert_outcomes(passed=2, warnings=1)
    second.stdout.fnmatch_lines(
        ["*the previous session ended abruptly while running *test_killer.wyn*: a test binary may have killed pytest*"]
    )
    third = wyn.run_subprocess(*mode, timeout=120)
    third.assert_outcomes(passed=2)  # said once: a session that finished leaves nothing in flight


@pytest.mark.parametrize("mode", [["-n", "0"], [], ["-n", "1"]], ids=["serial", "run-ahead", "worker"])
def test_killing_pytest_kills_the_running_binaries_and_their_children(wyn: WynProject, mode: list[str]) -> None:
    """SIGKILL leaves pytest no say: the watchdog kills every group it was running, children included."""
    tag = f"orphan{os.getpid()}{len(mode)}"
    child = f'__c("if (fork() == 0) {{ execlp(\\"sh\\", \\"sh\\", \\"-c\\", \\"sleep 300; : {tag}child\\", (char *)0); }}")\n'
    wyn.write(f"test_{tag}.wyn", child + '__c("sleep(300);")\n')
    proc = start_pytest(wyn, *mode)
    assert wait_until(lambda: processes_with(f"{tag}child") != [] and processes_with(f"/test_{tag}") != [], 60)
    os.kill(proc.pid, signal.SIGKILL)  # the controller; a worker then dies as its channel closes
    proc.communicate(timeout=60)
    assert wait_until(lambda: processes_with(f"/test_{tag}") == [], 15), processes_with(tag)
    assert wait_until(lambda: processes_with(f"{tag}child") == [], 15), processes_with(tag)


@NEEDS_ADDRESS_SPACE_LIMIT
def test_a_binary_over_the_memory_limit_before_it_was_set_is_killed_and_says_so(tmp_path: Path) -> None:
    """Limits are set right after the start (no fork of pytest): one that grew past them by then is killed."""
    from pytest_wyn.engine.judge import run_failure
    from pytest_wyn.engine.process import Completed, Limits
    from pytest_wyn.engine.process.posix import _set_limits

    ready = tmp_path / "ready"
    hog = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import mmap, pathlib, time; m = mmap.mmap(-1, 300 << 20); pathlib.Path({str(ready)!r}).touch(); time.sleep(60)",
        ]
    )
    try:
        assert wait_until(ready.exists, 30)
        over = _set_limits(hog.pid, Limits(cpu_seconds=5, memory_bytes=64 << 20))
        assert over > 300 << 20
        within = _set_limits(hog.pid, Limits(memory_bytes=4 << 30))
        assert within == 0
    finally:
        hog.kill()
        hog.wait()
    run = Completed(None, 9, False, b"", 0, 0.1, limits=Limits(memory_bytes=64 << 20), peak_bytes=over)
    message = run_failure(run, 10)
    assert message is not None and message.startswith("took 3")
    assert message.endswith("MiB of memory as it started, over the limit of 64 MiB (wyn_memory_limit), and was killed")


@pytest.mark.parametrize("helper", ["working", "broken"])
def test_without_a_watchdog_the_kernel_kills_the_binary_with_its_parent(
    helper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent-death signal (a full fork per start) is the fallback when the watchdog cannot run."""
    from pytest_wyn.engine.process import backend, child_env, run_bounded
    from pytest_wyn.engine.process.watchdog import Watchdog

    process = backend()  # the POSIX back-end in use (pytester's in-process runs may have re-imported its module)

    watchdog = Watchdog()
    watchdog.broken = helper == "broken"
    monkeypatch.setattr(process, "_watchdog", watchdog)
    probe = "import ctypes; v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); print(v.value)"
    done = run_bounded(
        [sys.executable, "-c", probe], cwd="/", env=child_env(), timeout=60, limit=1024, die_with_parent=True
    )
    assert done.text.strip() == (str(int(signal.SIGKILL)) if helper == "broken" else "0")
    assert (watchdog.helper is not None) == (helper == "working")
