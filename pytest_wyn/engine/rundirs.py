"""Each process's private run directory for compiled and copied binaries, and sweeping what killed ones left.

The directory's name holds its process id, so a later session can tell a
dead process's directory from a live one's and remove it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from .hostpaths import spaceless
from .owner import is_mine, private_dir_problem
from .process import pid_alive

RUN_DIR_PREFIX = "pytest-wyn-run-"


def run_dir_parent() -> str | None:
    """Where run directories go: the temporary directory, unless its path has a space.

    Wyn puts ``-o`` unquoted into the C compiler's command line, so a space
    (``C:\\Users\\First Last\\AppData\\Local\\Temp``) would break every build:
    then ``pytest-wyn-tmp`` at the drive's root. None: the default.
    """
    tmp = tempfile.gettempdir()
    if " " not in tmp:
        return None
    drive = os.environ.get("SYSTEMDRIVE", "")
    fallback = spaceless([os.path.join(drive + os.sep, "pytest-wyn-tmp")] if drive else [])
    if fallback is None:
        return None
    try:
        os.makedirs(fallback, mode=0o700, exist_ok=True)
        unsafe = private_dir_problem(fallback)  # binaries run from here: another user's folder will not do
    except OSError:
        return None
    return None if unsafe else fallback


def new_run_dir() -> Path:
    """This process's private directory for compiled and copied binaries (pid in its name, for sweeping)."""
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-", dir=run_dir_parent()))


def sweep_run_dirs(max_age: float = 86400.0) -> int:
    """Remove run directories left by processes that were killed; returns how many."""
    removed = 0
    for path in Path(run_dir_parent() or tempfile.gettempdir()).glob(RUN_DIR_PREFIX + "*"):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not is_mine(st) or not stat.S_ISDIR(st.st_mode):
            continue
        pid_text = path.name[len(RUN_DIR_PREFIX) :].split("-", 1)[0]
        # A directory of an older layout has no pid in its name: by age only.
        dead = not pid_alive(int(pid_text)) if pid_text.isdigit() else time.time() - st.st_mtime > max_age
        if dead:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
