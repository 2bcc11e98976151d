"""Kill the process groups we started if this process dies without doing it (SIGKILL, os._exit).

The kernel's parent-death signal needs code between fork and exec, which turns
every start into a full fork of the pytest process (about 2.5 ms of CPU per
test binary, measured) and kills only the binary, not what it started. Instead
one small helper per process watches a pipe only we hold: "+PGID" and "-PGID"
lines say which groups are alive; at end of file, which the kernel gives it
however we die, it kills the groups still listed, and what left them for a
group of its own within their session.

This file is also the helper's program (run by path, standard library only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time


class Watchdog:
    """This process's helper: started on first use, again after a fork."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner = 0  # the pid that started the helper (a forked child needs its own)
        self.fd = -1
        self.helper: subprocess.Popen[bytes] | None = None
        self.broken = False  # the helper could not start or went away: callers fall back

    def available(self) -> bool:
        """Started (now, if need be) and working; False: callers must find another way."""
        with self.lock:
            if not self.broken and self.owner != os.getpid():
                self._start()
            return not self.broken

    def watch(self, pgid: int) -> bool:
        """Have pgid killed if we die; False if that cannot be promised."""
        return self._send(f"+{pgid}\n")

    def unwatch(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> bool:
        with self.lock:
            if self.broken:
                return False
            if self.owner != os.getpid() and not self._start():
                return False
            try:
                os.write(self.fd, line.encode())  # shorter than PIPE_BUF: one atomic write
            except OSError:
                self.broken = True
                return False
            return True

    def _start(self) -> bool:
        read_end, write_end = os.pipe()
        try:
            self.helper = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C and a kill of our group reach us, not it
                close_fds=True,
            )
        except OSError:
            os.close(write_end)
            self.broken = True
            return False
        finally:
            os.close(read_end)
        self.owner = os.getpid()
        self.fd = write_end
        return True


def session_members(sids: set[int]) -> list[int]:
    """Processes still in any of the sessions ``sids`` (Linux, from /proc): what left a group with setpgid.

    Only processes started after the oldest session's leader are read (pids
    grow, until they wrap around: then all are), so it costs a directory listing.
    """
    if not sids:
        return []
    try:
        names = os.listdir("/proc")
        with open("/proc/loadavg", "rb") as loadavg:
            last = int(loadavg.read().split()[-1])  # the most recently allocated pid
    except (OSError, ValueError, IndexError):
        return []
    oldest = min(sids)
    wrapped = last < oldest
    found = []
    for name in names:
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in sids or (pid < oldest and not wrapped):
            continue
        try:
            fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
            try:
                data = os.read(fd, 1024)
            finally:
                os.close(fd)
            if int(data[data.rindex(b")") + 2 :].split()[3]) in sids:
                found.append(pid)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def kill_sessions(sids: set[int]) -> None:
    """Kill every process left in these sessions (their groups are already killed)."""
    if sys.platform == "win32":
        return  # no sessions there: a job object holds the tree (win32.py)
    for _ in range(3):  # what they forked while we killed
        members = session_members(sids)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def kill_group(pgid: int) -> None:
    if sys.platform == "win32":
        return  # Windows runs use a job object instead (win32.py)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


class Sweeper:
    """Kills what left the groups of finished runs (setpgid), one /proc scan per interval, not per run.

    A run's group dies with it at once; a process that moved to a group of its
    own within the run's session is found here, at most ``interval`` later, or
    when the sweeper is flushed (the end of the session, the exit of pytest).
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.lock = threading.Lock()
        self.pending: set[int] = set()
        self.last = 0.0

    def ended(self, sid: int) -> None:
        """The run led by ``sid`` is over and its group killed; sweep its session soon."""
        now = time.monotonic()
        with self.lock:
            self.pending.add(sid)
            if now - self.last < self.interval:
                return
            sids, self.pending, self.last = self.pending, set(), now
        kill_sessions(sids)

    def flush(self) -> None:
        with self.lock:
            sids, self.pending = self.pending, set()
        kill_sessions(sids)


def _serve() -> None:
    """The helper: remember live groups until end of file, then kill those left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    live: set[int] = set()
    for line in sys.stdin.buffer:
        try:
            pgid = int(line[1:])
        except ValueError:
            continue
        if line.startswith(b"+"):
            live.add(pgid)
        else:
            live.discard(pgid)
    groups = {pgid for pgid in live if pgid > 1}
    for pgid in groups:
        kill_group(pgid)
    kill_sessions(groups)


if __name__ == "__main__":
    _serve()
