"""One compile of one file: locks, compile slots, the process, what its failure means, retries.

The compiler writes ``FILE.wyn.c`` beside the source, so two builds of one
file must not overlap, even across sessions (a lock per source path); at most
one compile per CPU runs on the machine (slots shared through file locks);
failures caused by the host are retried with backoff; whatever happens, the
source tree is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from filelock import FileLock

from .cache import CacheDirError, secure_dir
from .formats import first_message, has_diagnostic, host_failure, strip_ansi
from .hostpaths import spaceless, wyn_path
from .owner import is_mine, private_dir_problem
from .process import Cancelled, Completed, child_env, pid_alive, run_bounded
from .settings import Settings, user_cache_root
from .toolchain import CompileCommand, Toolchain


@dataclass
class BuildResult:
    ok: bool
    binary: Path | None = None
    diagnostics: str = ""  # the compiler's output, escapes stripped
    compile_seconds: float = 0.0  # what compiling took (recorded, for a cache hit)
    cached: bool = False
    remote: bool = False  # served from an entry this session fetched from the shared cache
    problem: str = ""  # why there is no binary, when it is not the compiler's verdict
    retries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_digest: str = ""  # sha256 of the source bytes this build is of
    command: tuple[str, ...] = ()  # the compile command (for a cache hit: the one that built it)


AttemptKind = Literal["ok", "diagnostic", "host", "failed"]


@dataclass
class Attempt:
    """One run of the compiler, classified by what happens next.

    ok: a binary (stored). diagnostic: the compiler rejected the source (its
    verdict, stored too). host: this machine failed it (retried, never
    stored). failed: no binary and no verdict on the source (a timeout, no
    output file): reported, never stored, not retried.
    """

    done: Completed
    binary: Path
    kind: AttemptKind
    problem: str = ""  # what went wrong, for host and failed

    @property
    def transient(self) -> bool:
        return self.kind == "host"

    @property
    def cacheable(self) -> bool:
        return self.kind in ("ok", "diagnostic")


class Compiler:
    """Compiles files with one toolchain and command, in this process's threads (run-ahead) alike."""

    def __init__(self, toolchain: Toolchain, command: CompileCommand, rootdir: Path, settings: Settings,
                 lock_dir: Path | None) -> None:  # fmt: skip
        self.toolchain = toolchain
        self.command = command
        self.rootdir = rootdir
        self.compile_timeout = settings.compile_timeout
        self.max_retries = settings.compile_retries
        self.output_limit = settings.max_output
        self.compile_jobs = settings.compile_jobs
        self.lock_dir = lock_dir
        self.compiled = 0  # files the compiler ran for (a retried file counts once)
        self.not_started = 0  # files it could not even be started for
        self.compile_seconds = 0.0
        self.retries = 0  # attempts repeated for host reasons
        self._lock = threading.Lock()
        # Threads of this process queue here first, handed over at once; the file-lock slots
        # (polled) then only arbitrate between processes and sessions.
        self._local_slots = threading.BoundedSemaphore(self.compile_jobs)

    def argv(self, arg: str, output: Path) -> list[str]:
        """The command line that compiles ``arg`` (as passed to the compiler) into ``output``."""
        return self.command.argv(self.toolchain.path, arg, wyn_path(output))

    def compile(
        self,
        source: Path,
        arg: str,
        output: Path,
        cancel: threading.Event | None = None,
        env: dict[str, str] | None = None,
    ) -> tuple[BuildResult, Attempt]:
        """Compile, retrying host failures; ``cancel``, set from another thread, kills the compile.

        ``env``: added to the compiler's environment (the second cache level's ``WYN_CC``).
        """
        retries: list[str] = []
        attempt: Attempt | None = None
        started = False  # the compiler ran at least once: the file counts as compiled
        for n in range(self.max_retries + 1):
            attempt = self._attempt(source, arg, output, cancel, env)
            started = started or not attempt.done.launch_error
            with self._lock:
                self.compile_seconds += attempt.done.seconds
            if not attempt.transient or n == self.max_retries:
                break
            retries.append(f"attempt {n + 1} failed for a host reason ({attempt.problem}); retried")
            with self._lock:
                self.retries += 1
            time.sleep(min(0.25 * 2**n, 4.0))
        assert attempt is not None
        with self._lock:
            if started:
                self.compiled += 1
            else:
                self.not_started += 1
        done = attempt.done
        diagnostics = strip_ansi(done.text)
        result = BuildResult(
            ok=attempt.kind == "ok",
            binary=attempt.binary if attempt.kind == "ok" else None,
            diagnostics=diagnostics,
            compile_seconds=done.seconds,
            problem=attempt.problem,
            retries=retries,
            command=tuple(self.argv(arg, output)),
        )
        if done.cut_bytes:
            result.diagnostics += f"\n[... {done.cut_bytes} bytes of compiler output cut ...]"
        return result, attempt

    def _attempt(
        self, source: Path, arg: str, output: Path, cancel: threading.Event | None, env: dict[str, str] | None
    ) -> Attempt:
        argv = self.argv(arg, output)
        produced = self.command.produced_path(arg)
        with (
            _source_lock(self.lock_dir, source) as marker,
            _local_slot(self._local_slots, cancel),
            _compile_slot(self.lock_dir, self.compile_jobs, cancel),
            _restoring(Path(str(source) + ".c"), marker),
        ):
            done = run_bounded(
                argv,
                cwd=str(self.rootdir),
                env=child_env(extra=env),
                timeout=self.compile_timeout,
                limit=self.output_limit,
                die_with_parent=True,
                cancel=cancel,
            )
            if produced is not None:
                made = self.rootdir / produced
                if made.exists():
                    shutil.move(str(made), output)
        return _classify(done, output, self.compile_timeout)


def _classify(done: Completed, output: Path, timeout: float) -> Attempt:
    if done.launch_error:
        kind: AttemptKind = "host" if host_failure(done.launch_error) is not None else "failed"
        return Attempt(done, output, kind, f"the compiler could not be started: {done.launch_error}")
    if done.timed_out:
        why = f"the compiler did not finish within {timeout:g} s (wyn_compile_timeout) and was killed"
        return Attempt(done, output, "failed", why)
    if done.signal is not None:
        return Attempt(done, output, "host", f"the compiler was killed by {done.signal_name}")
    text = strip_ansi(done.text)
    if done.returncode != 0:
        host = host_failure(text)
        if host is not None:
            return Attempt(done, output, "host", f"host resources ran out: {host}")
        if not has_diagnostic(text):
            said = first_message(text)
            shown = f" (it printed only {said!r})" if said != "no output" else ""
            return Attempt(
                done,
                output,
                "host",
                f"the compiler exited {done.returncode} without any diagnostic on the source{shown}; "
                "taken for a host failure (a full or unwritable TMPDIR, say)",
            )
        return Attempt(done, output, "diagnostic")
    if not output.is_file():
        return Attempt(done, output, "failed", "the compiler exited 0 but wrote no binary")
    if not os.access(output, os.X_OK):
        return Attempt(done, output, "failed", "the compiler exited 0 but the file it wrote is not executable")
    return Attempt(done, output, "ok")


RUN_DIR_PREFIX = "pytest-wyn-run-"


def shared_lock_dir() -> tuple[Path | None, str]:
    """Where build locks, compile slots and ``.wyn.c`` markers live, and why not if they cannot.

    One place per user, whatever the cache directory or TMPDIR of a session, so
    that every session of the user shares them; checked as the cache is.
    """
    path = user_cache_root() / "locks"
    try:
        return secure_dir(path), ""
    except CacheDirError as exc:
        return None, f"build locks disabled: {exc}"
    except OSError as exc:
        return None, f"build locks disabled: cannot create {path} ({exc.strerror or exc})"


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


class _source_lock:
    """Serialises builds of one source path across processes and sessions.

    Entering gives the path of a marker file that says "the FILE.wyn.c beside
    this source is ours": a build killed before its clean-up leaves the marker,
    so the next build knows to remove the file rather than keep it.
    """

    def __init__(self, lock_dir: Path | None, source: Path) -> None:
        name = hashlib.sha256(str(source.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        self.lock = FileLock(str(lock_dir / f"{name}.lock")) if lock_dir is not None else None
        self.marker = lock_dir / f"{name}.c-is-ours" if lock_dir is not None else None

    def __enter__(self) -> Path | None:
        if self.lock is not None:
            self.lock.acquire()
        return self.marker

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.release()


class _compile_slot:
    """At most ``jobs`` compiles at once on this machine, whatever the number of workers.

    Compiling is CPU-bound: more compiles than cores only thrash, and would let
    the compile timeout fire on a compile that is merely waiting for a CPU.
    """

    def __init__(self, lock_dir: Path | None, jobs: int, cancel: threading.Event | None = None) -> None:
        self.locks = [FileLock(str(lock_dir / f"compile-slot-{n}.lock")) for n in range(jobs)] if lock_dir else []
        self.held: FileLock | None = None
        self.cancel = cancel

    def __enter__(self) -> None:
        delay = 0.005
        while self.locks:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled("the build was cancelled while waiting for a compile slot")
            for lock in self.locks:
                try:
                    lock.acquire(timeout=0)
                except TimeoutError:
                    continue
                self.held = lock
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def __exit__(self, *exc: object) -> None:
        if self.held is not None:
            self.held.release()


@contextlib.contextmanager
def _local_slot(slots: threading.BoundedSemaphore, cancel: threading.Event | None) -> Iterator[None]:
    while not slots.acquire(timeout=0.05):
        if cancel is not None and cancel.is_set():
            raise Cancelled("the build was cancelled while waiting for a compile slot")
    try:
        yield
    finally:
        slots.release()


class _restoring:
    """Puts ``path`` back as it was: removed if new, its old bytes if it existed."""

    def __init__(self, path: Path, marker: Path | None) -> None:
        self.path = path
        self.marker = marker
        self.before: bytes | None = None

    def __enter__(self) -> None:
        leftover = self.marker is not None and self.marker.exists()
        try:
            self.before = None if leftover else self.path.read_bytes()
        except OSError:
            self.before = None
        if self.before is None and self.marker is not None:
            self.marker.touch()

    def __exit__(self, *exc: object) -> None:
        try:
            if self.before is None:
                self.path.unlink(missing_ok=True)
                if self.marker is not None:
                    self.marker.unlink(missing_ok=True)
            else:
                self.path.write_bytes(self.before)
        except OSError:
            pass
