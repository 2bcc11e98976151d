"""Which files this process is building or running: a log that outlives a pytest killed by a test binary.

Kept in pytest's cache folder (``.pytest_cache/d/wyn-in-flight/PID.log``); the
next session reads what a dead one left and says which files were running.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .openflags import CLOEXEC
from .process import pid_alive

IN_FLIGHT_DIR = "wyn-in-flight"  # pytest's cache.mkdir(): .pytest_cache/d/wyn-in-flight/PID.log


class InFlight:
    """Which files this process is building or running, in a log kept in pytest's cache dir.

    A test binary that kills pytest itself leaves nothing to report it; the next
    session reads the log and says which files were running when it happened.
    One appended line per start and end (a single write each, cheap enough for
    every file of a warm run); one log per process, so that sessions running
    side by side in one project keep theirs apart; removed when the session
    ends normally.
    """

    def __init__(self, cache: Any) -> None:
        self.dir: Path | None = None
        self.fd = -1
        self.lock = threading.Lock()
        if cache is None:
            return
        try:
            self.dir = Path(cache.mkdir(IN_FLIGHT_DIR))
        except OSError:
            self.dir = None

    def left_over(self) -> list[str]:
        """What sessions that died left in flight (their logs are then removed); opens this one's."""
        if self.dir is None:
            return []
        died: dict[str, None] = {}
        for log in sorted(self.dir.glob("*.log")):
            pid = log.stem
            if not pid.isdigit() or int(pid) == os.getpid() or pid_alive(int(pid)):
                continue
            try:
                died.update(dict.fromkeys(_unfinished(log.read_text(encoding="utf-8", errors="replace"))))
                log.unlink()
            except OSError:
                continue
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | CLOEXEC
            self.fd = os.open(self.dir / f"{os.getpid()}.log", flags, 0o600)
        except OSError:
            self.fd = -1
        return list(died)

    def started(self, nodeid: str) -> None:
        self._log("+", nodeid)

    def finished(self, nodeid: str) -> None:
        self._log("-", nodeid)

    def close(self) -> None:
        with self.lock:
            if self.fd < 0 or self.dir is None:
                return
            os.close(self.fd)
            self.fd = -1
            try:
                (self.dir / f"{os.getpid()}.log").unlink()
            except OSError:
                pass

    def _log(self, sign: str, nodeid: str) -> None:
        line = f"{sign}{json.dumps(nodeid)}\n".encode()
        with self.lock:  # never a write to a descriptor close() just gave back
            if self.fd < 0:
                return
            try:
                os.write(self.fd, line)  # O_APPEND: one line, whole
            except OSError:
                pass


def _unfinished(text: str) -> list[str]:
    """The files a log says were started and not finished."""
    running: dict[str, None] = {}
    for line in text.splitlines():
        try:
            nodeid = json.loads(line[1:])
        except ValueError:
            continue  # a line cut by the crash
        if line.startswith("+"):
            running[str(nodeid)] = None
        elif line.startswith("-"):
            running.pop(str(nodeid), None)
    return list(running)
