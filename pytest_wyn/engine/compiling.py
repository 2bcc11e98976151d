"""One compile of one file: the process under its locks (buildlocks.py), what its failure means, retries.

The compiler writes ``FILE.wyn.c`` beside the source, so two builds of one
file must not overlap, even across sessions (a lock per source path); at most
one compile per CPU runs on the machine (slots shared through file locks);
failures caused by the host are retried with backoff; whatever happens, the
source tree is left as it was.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .buildlocks import compile_slot, local_slot, source_lock
from .formats import first_message, has_diagnostic, host_failure, strip_ansi
from .hostpaths import wyn_path
from .process import Completed, child_env, run_bounded
from .results import BuildResult
from .settings import Settings
from .toolchain import CompileCommand, Toolchain

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
            source_lock(self.lock_dir, source) as marker,
            local_slot(self._local_slots, cancel),
            compile_slot(self.lock_dir, self.compile_jobs, cancel),
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
