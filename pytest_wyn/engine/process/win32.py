"""The Windows back-end: a Job Object per run, through ctypes (no dependency).

The child starts suspended, joins a job that kills every process in it when
the job's handle closes (``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``: also when
pytest itself dies, so no watchdog is needed), then resumes: nothing it starts
can escape the job. The job carries the CPU-time and memory limits. Output is
read by a thread (Windows cannot select on pipes); the wait is
``WaitForSingleObject`` in short steps, so that a cancel is seen. Error
dialogs are switched off, so that a crashing test cannot hang CI.

Written against the Win32 documentation and type-checked with
``mypy --platform win32``; it runs on the project's Windows CI job only.
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # imported by engine.process.backend() on Windows only

import ctypes
import subprocess
import threading
import time
from ctypes import wintypes

from .common import CANCEL_POLL_SECONDS, BoundedBuffer, Cancelled, Completed, Limits, Run, pipe_options

EXIT_GRACE_SECONDS = 0.2  # after the program exits, how long its output may still arrive

CREATE_SUSPENDED = 0x00000004
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
JOB_OBJECT_LIMIT_PROCESS_TIME = 0x00000002
JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x00000100
JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100
PROCESS_SUSPEND_RESUME = 0x0800
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
SYNCHRONIZE = 0x00100000
# NtResumeProcess needs PROCESS_SUSPEND_RESUME: without it every program stayed suspended until its timeout.
PROCESS_RIGHTS = (
    PROCESS_TERMINATE | PROCESS_SET_QUOTA | PROCESS_SUSPEND_RESUME | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE
)
WAIT_OBJECT_0 = 0
STILL_ACTIVE = 259
ERROR_ACCESS_DENIED = 5
SEM_FAILCRITICALERRORS = 0x0001
SEM_NOGPFAULTERRORBOX = 0x0002
SEM_NOOPENFILEERRORBOX = 0x8000


class IO_COUNTERS(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount",
    )]  # fmt: skip


class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", wintypes.LARGE_INTEGER),
        ("PerJobUserTimeLimit", wintypes.LARGE_INTEGER),
        ("LimitFlags", wintypes.DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", wintypes.DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", wintypes.DWORD),
        ("SchedulingClass", wintypes.DWORD),
    ]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
        ("IoInfo", IO_COUNTERS),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_ntdll = ctypes.WinDLL("ntdll")
# Every function called has its argtypes and restype: without them ctypes passes and returns C ints, and
# a 64-bit handle (or the pseudo-handle -1) does not fit.
_kernel32.CreateJobObjectW.restype = wintypes.HANDLE
_kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
_kernel32.SetInformationJobObject.restype = wintypes.BOOL
_kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
_kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
_kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
_kernel32.TerminateJobObject.restype = wintypes.BOOL
_kernel32.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
_kernel32.OpenProcess.restype = wintypes.HANDLE
_kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
_kernel32.CloseHandle.restype = wintypes.BOOL
_kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
_kernel32.WaitForSingleObject.restype = wintypes.DWORD
_kernel32.WaitForSingleObject.argtypes = [wintypes.HANDLE, wintypes.DWORD]
_kernel32.GetExitCodeProcess.restype = wintypes.BOOL
_kernel32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
_kernel32.GetProcessTimes.restype = wintypes.BOOL
_kernel32.GetProcessTimes.argtypes = [wintypes.HANDLE, *[ctypes.POINTER(wintypes.FILETIME)] * 4]
_kernel32.SetErrorMode.restype = wintypes.UINT
_kernel32.SetErrorMode.argtypes = [wintypes.UINT]
_ntdll.NtResumeProcess.argtypes = [wintypes.HANDLE]
_ntdll.NtResumeProcess.restype = ctypes.c_long  # NTSTATUS: negative is an error

_errors_quiet = False


def _quiet_errors() -> None:
    """No error dialog from a crashing child (it inherits the mode): a dialog would hang the run."""
    global _errors_quiet
    if not _errors_quiet:
        _kernel32.SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX)
        _errors_quiet = True


def _new_job(limits: Limits | None) -> int:
    job = _kernel32.CreateJobObjectW(None, None)
    if not job:
        raise ctypes.WinError(ctypes.get_last_error())
    info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
    flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
    if limits is not None and limits.cpu_seconds:
        flags |= JOB_OBJECT_LIMIT_PROCESS_TIME
        info.BasicLimitInformation.PerProcessUserTimeLimit = int(limits.cpu_seconds * 10_000_000)  # 100 ns units
    if limits is not None and limits.memory_bytes:
        flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY
        info.ProcessMemoryLimit = limits.memory_bytes
    info.BasicLimitInformation.LimitFlags = flags
    if not _kernel32.SetInformationJobObject(
        job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS, ctypes.byref(info), ctypes.sizeof(info)
    ):
        error = ctypes.get_last_error()
        _kernel32.CloseHandle(job)
        raise ctypes.WinError(error)
    return int(job)


def _cpu_seconds(handle: int) -> float:
    times = [wintypes.FILETIME() for _ in range(4)]
    if not _kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
        return 0.0
    kernel, user = times[2], times[3]
    ticks = sum((t.dwHighDateTime << 32) | t.dwLowDateTime for t in (kernel, user))
    return ticks / 10_000_000


def _reader(stream: object, buf: BoundedBuffer, done: threading.Event) -> None:
    read = stream.read  # type: ignore[attr-defined]
    try:
        while True:
            chunk = read(1 << 16)
            if not chunk:
                break
            buf.add(chunk)
    except (OSError, ValueError):
        pass  # the pipe was closed under us: what was read is kept
    finally:
        done.set()


def run(request: Run) -> Completed:
    """As the POSIX back-end; ``die_with_parent`` always holds (the job dies with its last handle)."""
    argv, timeout, limit = request.argv, request.timeout, request.limit
    limits, cancel = request.limits, request.cancel
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was cancelled before it started")
    _quiet_errors()
    start = time.monotonic()
    try:
        job = _new_job(limits)
    except OSError as exc:
        return Completed(None, None, False, b"", 0, 0.0, launch_error=f"cannot create a job object: {exc}")
    try:
        try:
            proc = subprocess.Popen(
                argv,
                **pipe_options(request),
                creationflags=CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW,
            )
        except OSError as exc:
            return Completed(None, None, False, b"", 0, 0.0, launch_error=f"{exc.strerror or exc} ({argv[0]})")
        handle = _kernel32.OpenProcess(PROCESS_RIGHTS, False, proc.pid)
        try:
            if not handle or not _kernel32.AssignProcessToJobObject(job, handle):
                proc.kill()
                proc.wait()
                return Completed(None, None, False, b"", 0, 0.0, launch_error="cannot put the program into a job")
            status = _ntdll.NtResumeProcess(handle)
            if status < 0:  # an NTSTATUS error: the program would stay suspended until its timeout
                proc.kill()
                proc.wait()
                why = f"cannot resume the program (NTSTATUS {status & 0xFFFFFFFF:#010x})"
                return Completed(None, None, False, b"", 0, 0.0, launch_error=why)
            return _collect(proc, int(handle), job, start, timeout, limit, limits, cancel)
        finally:
            if handle:
                _kernel32.CloseHandle(handle)
    finally:
        _kernel32.TerminateJobObject(job, 1)  # whatever is left of the tree
        _kernel32.CloseHandle(job)


def _collect(
    proc: subprocess.Popen[bytes],
    handle: int,
    job: int,
    start: float,
    timeout: float,
    limit: int,
    limits: Limits | None,
    cancel: threading.Event | None,
) -> Completed:
    assert proc.stdout is not None
    buf = BoundedBuffer(limit)
    eof = threading.Event()
    reader = threading.Thread(target=_reader, args=(proc.stdout, buf, eof), daemon=True, name="wyn-output")
    reader.start()
    deadline = start + timeout
    timed_out = False
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            step = min(deadline - now, CANCEL_POLL_SECONDS if cancel is not None else 0.5)
            if _kernel32.WaitForSingleObject(handle, max(int(step * 1000), 1)) == WAIT_OBJECT_0:
                break
            if cancel is not None and cancel.is_set():
                raise Cancelled("the run was cancelled")
    except BaseException:
        _kernel32.TerminateJobObject(job, 1)
        proc.wait()
        raise
    cpu = _cpu_seconds(handle)
    eof.wait(EXIT_GRACE_SECONDS)  # a child still holding the pipe is killed with the job below
    _kernel32.TerminateJobObject(job, 1)
    returncode = proc.wait()
    reader.join(1.0)
    proc.stdout.close()
    output, cut = buf.result()
    seconds = time.monotonic() - start
    if timed_out:
        return Completed(None, None, True, output, cut, seconds, limits=limits, cpu_seconds=cpu)
    return Completed(returncode & 0xFFFFFFFF, None, False, output, cut, seconds, limits=limits, cpu_seconds=cpu)


def pid_alive(pid: int) -> bool:
    """OpenProcess, not ``os.kill(pid, 0)``: on Windows signal 0 is CTRL_C_EVENT."""
    if pid <= 0:
        return False
    handle = _kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return ctypes.get_last_error() == ERROR_ACCESS_DENIED
    try:
        code = wintypes.DWORD()
        if not _kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == STILL_ACTIVE
    finally:
        _kernel32.CloseHandle(handle)
