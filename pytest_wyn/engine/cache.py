"""The compile cache's store: entries published atomically, and the rules for a safe directory.

(The key is in key.py.)

An entry is a directory ``entries/<k[:2]>/<key>/`` holding ``meta.json`` and,
for a successful build, ``binary``. It is built in ``staging/`` and renamed
into place, so a reader sees a whole entry or none. One file lock per key
makes concurrent workers and sessions compile a key once and share it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock

from .digest import sha256_file
from .errors import HostError, UsageError
from .openflags import BINARY, CLOEXEC, NOFOLLOW
from .owner import is_mine, is_reparse_point, my_uid, private_dir_problem

STAGING_MAX_AGE = 3600.0


class CacheDirError(UsageError):
    """The cache directory is unsafe to run binaries from (someone else can write it)."""


@dataclass
class EntryMeta:
    status: Literal["ok", "failed"]  # a binary, or the compiler's verdict that there is none
    compile_seconds: float
    returncode: int
    diagnostics: str
    binary_size: int = 0
    binary_sha256: str = ""
    created: float = 0.0
    origin: str = ""  # "remote:<session mark>" when fetched from the shared cache
    signer: str = ""  # fetched from the shared cache: the hex Ed25519 key that signed it (trust can be withdrawn)

    @property
    def from_remote(self) -> bool:
        """Fetched, not compiled here: never uploaded again, and served only while its signer is trusted."""
        return self.origin.startswith("remote:") or bool(self.signer)


@dataclass(frozen=True)
class Entry:
    key: str
    meta: EntryMeta
    binary: Path | None


def check_path_components(path: Path) -> None:
    """Every directory from / down to ``path``'s parent is safe, as ssh's StrictModes asks.

    Each must belong to root or to us and be writable by no one else, except a
    root-owned sticky directory such as /tmp (others cannot rename our entries
    there). Otherwise another user could swap the cache under us. On Windows,
    where a drive's root lets every user add folders, only junctions and
    symbolic links on the way are refused; the cache directory's own ACL decides.
    """
    uid = my_uid()
    for parent in reversed(path.parents):
        st = parent.lstat() if uid is None else parent.stat()
        if uid is None:
            if is_reparse_point(st):
                raise CacheDirError(f"{parent} (on the way to {path}) is a junction or symbolic link")
            continue
        if st.st_uid not in (0, uid):
            raise CacheDirError(f"{parent} (on the way to {path}) belongs to another user (uid {st.st_uid})")
        if not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or (st.st_uid == 0 and st.st_mode & stat.S_ISVTX):
            continue  # writable by its owner alone, or a root-owned sticky directory such as /tmp
        if not st.st_mode & stat.S_IWOTH and group_has_only(st.st_gid, st.st_uid):
            continue  # group-writable, but the group is its owner's alone (read only in this case: it scans users)
        raise CacheDirError(
            f"{parent} (on the way to {path}) can be written by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"another user could swap the cache under you. Fix: chmod go-w {parent} "
            "(README: Troubleshooting, \"the cache directory is refused\")"
        )


def group_has_only(gid: int, uid: int) -> bool:
    """Whether group ``gid`` has no member but user ``uid`` (a user-private group, as most Linux
    distributions give every user): then its write bit lets no one else in, as OpenSSH also accepts."""
    if sys.platform == "win32":
        return False  # no such groups: the directory's ACL decides there
    try:
        import grp
        import pwd

        owner = pwd.getpwuid(uid).pw_name
        group = grp.getgrgid(gid)
        if any(member != owner for member in group.gr_mem):
            return False
        return not any(p.pw_gid == gid and p.pw_uid != uid for p in pwd.getpwall())
    except (ImportError, KeyError, OSError):
        return False


def secure_dir(path: Path) -> Path:
    """Resolve ``path`` once, create it 0700 if needed, and check it and every directory above it.

    Returns the resolved path, to be used from then on (workers get it as is),
    so that a symlink swapped later cannot redirect us.
    """
    if path.is_symlink() and not path.exists():
        raise CacheDirError(f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    resolved = Path(os.path.realpath(path))
    check_path_components(resolved)
    check_private_dir(resolved)
    return resolved


def check_private_dir(path: Path) -> None:
    problem = private_dir_problem(str(path))
    if problem is not None:
        raise CacheDirError(problem)


class Store:
    """Entries under ``root``; all methods are safe across processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = root / "entries"
        self.staging = root / "staging"
        self.locks = root / "locks"

    def prepare(self) -> None:
        """Create the layout. Raises CacheDirError for an unsafe dir, OSError if unwritable."""
        self.root = secure_dir(self.root)
        self.entries = self.root / "entries"
        self.staging = self.root / "staging"
        self.locks = self.root / "locks"
        for sub in (self.entries, self.staging, self.locks):
            sub.mkdir(exist_ok=True, mode=0o700)
            check_private_dir(sub)
        with tempfile.NamedTemporaryFile(dir=self.staging, prefix="probe-"):
            pass

    def entry_dir(self, key: str) -> Path:
        return self.entries / key[:2] / key

    def has(self, key: str) -> bool:
        return (self.entry_dir(key) / "meta.json").is_file()

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with FileLock(str(self.locks / f"{key[:2]}-{key}.lock")):
            yield

    def lookup(self, key: str) -> Entry | None:
        """The entry for key if it is whole; a damaged one is removed (returns None)."""
        d = self.entry_dir(key)
        try:
            raw = _read_own(d / "meta.json").decode("utf-8")
        except FileNotFoundError:
            return None
        except UnsafeEntry as exc:
            self.discard(key)
            raise CorruptEntry(key, str(exc)) from None
        except (OSError, UnicodeDecodeError):
            return None
        try:
            meta = EntryMeta(**json.loads(raw))
        except (ValueError, TypeError):
            self.discard(key)
            raise CorruptEntry(key, "its metadata is not readable") from None
        binary: Path | None = None
        if meta.status == "ok":
            binary = d / "binary"
            try:
                st = os.lstat(binary)
                size = st.st_size if stat.S_ISREG(st.st_mode) and is_mine(st) else -1
            except OSError:
                size = -1
            if size != meta.binary_size:
                self.discard(key)
                raise CorruptEntry(key, f"its binary has {size} bytes, {meta.binary_size} recorded")
        try:
            os.utime(d / "meta.json")  # for least-recently-used eviction
        except OSError:
            pass
        return Entry(key, meta, binary)

    def new_staging_dir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.staging, prefix="build-"))

    def publish(self, key: str, staged: Path, meta: EntryMeta, replace: bool = True, sha256: str = "") -> Entry:
        """Move a staged build (holding ``binary`` if ok) into place, atomically.

        With ``replace=False`` (an entry fetched from the shared cache, without
        the key's lock) an entry already there stays, and the staged one is
        dropped (FileExistsError); its metadata is not synced to disk either: a
        fetched entry lost or torn in a crash fails the size and digest checks
        and is fetched or built again. ``sha256``: the binary's digest, when the
        caller has just checked it (not read again).
        """
        meta.created = time.time()
        if meta.status == "ok":
            binary = staged / "binary"
            meta.binary_size = binary.stat().st_size
            meta.binary_sha256 = sha256 or sha256_file(binary)
        tmp_meta = staged / "meta.json.tmp"
        tmp_meta.write_text(json.dumps(asdict(meta)), encoding="utf-8")
        if replace:
            with open(tmp_meta, "r+b") as f:  # Windows: FlushFileBuffers needs a handle open for writing
                os.fsync(f.fileno())
        os.replace(tmp_meta, staged / "meta.json")
        final = self.entry_dir(key)
        final.parent.mkdir(exist_ok=True, mode=0o700)
        if final.exists():
            if not replace:
                raise FileExistsError(f"cache entry {key[:12]} is there already")
            shutil.rmtree(final, ignore_errors=True)
        os.rename(staged, final)  # onto an entry another process just published: OSError, theirs stays
        return Entry(key, meta, final / "binary" if meta.status == "ok" else None)

    def discard(self, key: str) -> None:
        d = self.entry_dir(key)
        if d.exists():
            trash = self.staging / f"trash-{key}-{os.getpid()}-{time.monotonic_ns()}"
            try:
                os.rename(d, trash)
            except OSError:
                return
            shutil.rmtree(trash, ignore_errors=True)

    def clear(self) -> None:
        for sub in (self.entries, self.staging):
            if sub.exists():
                shutil.rmtree(sub, ignore_errors=True)
            sub.mkdir(exist_ok=True, mode=0o700)

    def sweep_staging(self) -> None:
        """Remove builds abandoned by killed processes."""
        now = time.time()
        try:
            children = list(self.staging.iterdir())
        except OSError:
            return
        for child in children:
            try:
                old = now - child.stat().st_mtime > STAGING_MAX_AGE
            except OSError:
                continue
            if old or child.name.startswith("trash-"):
                shutil.rmtree(child, ignore_errors=True)

    def evict(self, max_bytes: int) -> int:
        """Remove least recently used entries until the store fits; returns how many."""
        entries: list[tuple[float, int, Path]] = []
        total = 0
        for bucket in self.entries.glob("*"):
            for d in bucket.iterdir():
                try:
                    used = (d / "meta.json").stat().st_mtime
                    size = sum(f.stat().st_size for f in d.iterdir())
                except OSError:
                    continue
                entries.append((used, size, d))
                total += size
        removed = 0
        for _used, size, d in sorted(entries):
            if total <= max_bytes:
                break
            key = d.name
            lock = FileLock(str(self.locks / f"{key[:2]}-{key}.lock"), timeout=0)
            try:
                with lock:
                    self.discard(key)
            except TimeoutError:
                continue
            total -= size
            removed += 1
        return removed


class UnsafeEntry(HostError):
    """Something in the cache is a symbolic link, or not ours: never followed, never run."""


def _check_entry_dirs(path: Path) -> None:
    """The entry's own directories (``entries/<k2>/<key>``) are real directories of ours."""
    for d in (path.parent.parent, path.parent):
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or not is_mine(st) or is_reparse_point(st):
            raise UnsafeEntry(f"{d.name} is not a directory of ours (a symbolic link?)")


def open_own(path: Path) -> int:
    """Open a file inside the cache without following a symbolic link, and only if it is ours."""
    _check_entry_dirs(path)
    if not NOFOLLOW and is_reparse_point(os.lstat(path)):
        raise UnsafeEntry(f"{path.name} is a symbolic link")
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | CLOEXEC | BINARY)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeEntry(f"{path.name} is a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not is_mine(st):
        os.close(fd)
        raise UnsafeEntry(f"{path.name} is not a regular file of ours")
    return fd


def _read_own(path: Path) -> bytes:
    fd = open_own(path)
    with os.fdopen(fd, "rb") as f:
        return f.read(1 << 24)


class CorruptEntry(HostError):
    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"cache entry {key[:12]} was damaged ({why}); it was removed and will be rebuilt")
        self.key = key


def copy_verified(src: Path, dest: Path, expected_sha256: str) -> bool:
    """Copy src to dest (executable), returning whether the copy has the expected hash."""
    h = hashlib.sha256()
    with os.fdopen(open_own(src), "rb") as fin, open(dest, "wb") as fout:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            h.update(chunk)
            fout.write(chunk)
    os.chmod(dest, 0o700)
    return h.hexdigest() == expected_sha256
