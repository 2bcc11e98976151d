"""Who owns a file and who else may write it: POSIX mode bits, or a Windows ACL.

The cache hands out executables, so a directory another user can write is
refused. On POSIX that is the owner's uid and the group/other write bits; on
Windows ``os.stat`` has neither, so the owner SID and the DACL decide
(``acl_problem``, a pure decision over what ``winsec`` reads), and reparse
points (symbolic links, junctions) are refused.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass

# Writers a private directory may have on Windows besides its owner: the system and administrators
# (who can read everything anyway), and CREATOR OWNER (which stands for the owner of what is created).
TRUSTED_WRITERS = {"S-1-5-18": "SYSTEM", "S-1-5-32-544": "Administrators", "S-1-3-0": "CREATOR OWNER"}
FILE_ATTRIBUTE_REPARSE_POINT = 0x400


def my_uid() -> int | None:
    """This process's uid, or None where there are none (Windows)."""
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else None


def is_mine(st: os.stat_result) -> bool:
    """The file belongs to this user; on Windows the directory's ACL was checked instead (always True)."""
    uid = my_uid()
    return uid is None or st.st_uid == uid


def is_reparse_point(st: os.stat_result) -> bool:
    """A Windows symbolic link or junction (``os.lstat``); never on POSIX."""
    return bool(getattr(st, "st_file_attributes", 0) & FILE_ATTRIBUTE_REPARSE_POINT)


@dataclass(frozen=True)
class Acl:
    """What a Windows directory's security descriptor says, as SID strings."""

    owner: str
    writers: tuple[str, ...]  # SIDs an allow-ACE grants any write, delete or permission-changing right


def acl_problem(path: str, acl: Acl, me: str) -> str | None:
    """Why a Windows directory is unsafe to run binaries from, or None.

    Its owner must be this user (or a trusted system principal), and nobody
    but the owner and the trusted principals may write it.
    """
    if acl.owner != me and acl.owner not in TRUSTED_WRITERS:
        return f"{path} belongs to another account ({acl.owner}); pytest-wyn runs binaries from it"
    others = [sid for sid in acl.writers if sid != me and sid not in TRUSTED_WRITERS]
    if others:
        return (
            f"{path} can be written by {', '.join(sorted(set(others)))}; pytest-wyn runs binaries from it. "
            f"Fix: icacls {path} /inheritance:r /grant:r %USERNAME%:(OI)(CI)F"
        )
    return None


def private_dir_problem(path: str) -> str | None:
    """Why ``path`` (a directory of ours to run binaries from) is unsafe, or None; this platform's rules."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or is_reparse_point(st):
        return f"{path} is a symbolic link or junction; pytest-wyn runs binaries from it and follows none there"
    if sys.platform == "win32":
        from . import winsec

        owner, writers = winsec.read_acl(path)
        return acl_problem(path, Acl(owner, writers), winsec.my_sid())
    if not is_mine(st):
        return f"{path} belongs to another user (uid {st.st_uid}); pytest-wyn runs binaries from it"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (
            f"{path} can be written by group or others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"pytest-wyn runs binaries from it. Fix: chmod 700 {path}"
        )
    return None
