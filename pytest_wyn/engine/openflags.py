"""``os.open`` flags where the platform has them, 0 where it does not (Windows lacks most)."""

from __future__ import annotations

import os

NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)  # Windows: reparse points are checked with lstat instead
CLOEXEC: int = getattr(os, "O_CLOEXEC", 0) or getattr(os, "O_NOINHERIT", 0)
NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # Windows: opening a FIFO-like file does not block there
BINARY: int = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
