"""A status line while a test waits for its file: a cold run is never silent on a terminal.

Run-ahead compiles and runs files in threads while pytest waits in one test;
each second of that wait, ``[wyn: 3 of 31 file(s) built]`` appears at the end
of pytest's current line, and is erased when the test goes on, so the line
reads as it would have without it. Only on a terminal (``compat.terminal_status``).
"""

from __future__ import annotations

from collections.abc import Callable


class WaitingLine:
    def __init__(self, write: Callable[[str], int], progress: Callable[[], tuple[int, int]]) -> None:
        self.write = write
        self.progress = progress  # (files built or taken from the cache, files this run builds)
        self.shown = 0

    def __call__(self, done: bool) -> None:
        """One tick of a wait (done=False), or its end (done=True)."""
        self._erase()
        if not done:
            built, total = self.progress()
            self.shown = self.write(f" [wyn: {built} of {total} file(s) built]")

    def _erase(self) -> None:
        if self.shown:
            n, self.shown = self.shown, 0
            self.write("\b" * n + " " * n + "\b" * n)
