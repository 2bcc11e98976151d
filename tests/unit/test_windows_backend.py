"""The Windows back-end (process/win32.py) and the ACL reader (winsec.py), run under a real Windows CPython.

CI runs them under Wine (tests/harness/windows_wine). They need a C compiler on PATH (cc, as tcc is
installed there) for their small test programs. Wine enforces no Job Object CPU or memory limit and
reports wrong CPU times: those checks are skipped under Wine, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "win32", reason="the Windows back-end runs on Windows only")

UNDER_WINE = sys.platform == "win32" and bool(os.environ.get("WINEPREFIX") or os.environ.get("WINELOADER"))

PROGRAMS = {
    "exit3": '#include <stdio.h>\nint main(void){ printf("hello\\n"); return 3; }\n',
    "crash": '#include <stdio.h>\nint main(void){ printf("about to crash\\n"); fflush(stdout);'
    " volatile int *p = 0; *p = 1; return 0; }\n",
    "loop": "int main(void){ volatile unsigned long x = 0; for (;;) x++; return 0; }\n",
    "sleeper": "#include <windows.h>\nint main(void){ Sleep(600000); return 0; }\n",
    "spawner": "#include <windows.h>\n#include <stdio.h>\nint main(int argc, char **argv){ STARTUPINFOA si;"
    " PROCESS_INFORMATION pi; ZeroMemory(&si, sizeof si); si.cb = sizeof si;"
    " if (!CreateProcessA(NULL, argv[1], NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) return 2;"
    ' printf("%lu\\n", pi.dwProcessId); fflush(stdout); Sleep(600000); return 0; }\n',
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cc = shutil.which("cc") or shutil.which("tcc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on PATH for the test programs")
    where = tmp_path_factory.mktemp("programs")
    built = {}
    for name, code in PROGRAMS.items():
        (where / f"{name}.c").write_text(code)
        subprocess.run([cc, "-w", "-o", str(where / f"{name}.exe"), str(where / f"{name}.c")], check=True)
        built[name] = str(where / f"{name}.exe")
    return built


def run(argv: list[str], timeout: float = 20, **kwargs: object) -> object:
    from pytest_wyn.engine.process import run_bounded

    return run_bounded(argv, cwd=os.getcwd(), env=dict(os.environ), timeout=timeout, limit=1 << 20, **kwargs)


def test_a_program_runs_and_its_exit_status_and_output_come_back(programs: dict[str, str]) -> None:
    """Issue 27.1: every program stayed suspended (NtResumeProcess lacked PROCESS_SUSPEND_RESUME)."""
    started = time.monotonic()
    done = run([programs["exit3"]])
    assert done.returncode == 3 and not done.timed_out  # type: ignore[attr-defined]
    assert done.output.replace(b"\r\n", b"\n") == b"hello\n"  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10


def test_a_crash_is_its_ntstatus_with_no_dialog(programs: dict[str, str]) -> None:
    done = run([programs["crash"]])
    assert done.returncode == 0xC0000005 and not done.timed_out  # type: ignore[attr-defined]
    assert b"about to crash" in done.output  # type: ignore[attr-defined]


def test_a_timeout_kills_the_program_and_its_grandchild(programs: dict[str, str]) -> None:
    from pytest_wyn.engine.process import pid_alive

    done = run([programs["spawner"], programs["sleeper"]], timeout=3)
    assert done.timed_out  # type: ignore[attr-defined]
    grandchild = int(done.output.split()[0])  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(grandchild)


def test_a_run_is_cancelled_from_another_thread(programs: dict[str, str]) -> None:
    from pytest_wyn.engine.process import Cancelled

    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    with pytest.raises(Cancelled):
        run([programs["sleeper"]], timeout=30, cancel=cancel)


def test_a_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    done = run([str(tmp_path / "nope.exe")])
    assert done.launch_error  # type: ignore[attr-defined]


@pytest.mark.skipif(UNDER_WINE, reason="Wine enforces no Job Object CPU limit (JOB_OBJECT_LIMIT_PROCESS_TIME)")
def test_the_cpu_limit_ends_a_busy_loop(programs: dict[str, str]) -> None:
    from pytest_wyn.engine.process import Limits

    done = run([programs["loop"]], timeout=30, limits=Limits(cpu_seconds=1))
    assert not done.timed_out and done.returncode != 0  # type: ignore[attr-defined]


def test_my_sid_and_the_acl_of_a_private_folder() -> None:
    """Issue 27.2: my_sid() always raised ctypes.ArgumentError (OpenProcessToken had no argtypes)."""
    from pytest_wyn.engine import owner, winsec

    me = winsec.my_sid()
    assert me.startswith("S-1-")
    folder = tempfile.mkdtemp(prefix="wynacl")
    owner_sid, writers = winsec.read_acl(folder)
    assert owner_sid == me and me in writers
    assert owner.private_dir_problem(folder) is None
