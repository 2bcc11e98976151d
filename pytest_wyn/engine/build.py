"""Turn a `.wyn` file into a binary to run: key, cache lookup, compile (compiling.py), publish.

The compile happens in this process's private directory, never in the cache:
a full or broken cache costs the entry, never the build.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from .cache import CorruptEntry, Entry, EntryMeta, Store, UnsafeEntry, copy_verified
from .cfront import CStepServer, open_server
from .clevel import c_level_env, generate_only_env, write_front
from .compiling import Attempt, Compiler
from .digest import sha256_bytes
from .golden import Generated, generate
from .hostpaths import compile_arg, executable_name
from .key import KeyInputs, compute_key, keyed
from .remote.signing import TrustedKeys
from .remote.tier import RemoteCache
from .results import BuildResult
from .rundirs import new_run_dir
from .settings import Settings
from .spec import SpecError, read_source
from .toolchain import CompileCommand, Toolchain


@dataclass
class BuildStats:
    compiled: int = 0
    compile_seconds: float = 0.0
    hits: int = 0
    saved_seconds: float = 0.0
    retries: int = 0
    c_reused: int = 0  # compiles whose C step the second level served
    c_compiled: int = 0  # compiles whose C step ran the real C compiler (and stored what it made)
    not_started: int = 0  # files the compiler could not be started for (not counted as compiled)

    def add(self, other: dict[str, float]) -> None:
        """Fold in another process's statistics (from JSON): counts stay whole numbers."""
        for name, value in other.items():
            mine = getattr(self, name)
            setattr(self, name, mine + type(mine)(value))

def _open_c_level(
    store: Store | None, settings: Settings, trust: TrustedKeys, remote: RemoteCache | None
) -> CStepServer | None:
    """The second level's server, when the first level is on and the second not switched off (wyn_c_cache).

    With a shared cache, a tier beside the first level's (one backend, one breaker) serves it too.
    """
    if store is None or not settings.c_cache:
        return None
    root = settings.c_cache_dir or store.root / "c"
    server = open_server(root, trust, None)
    if server is not None and remote is not None:
        server.remote = remote.beside(server.store)
    return server  # None: compiles go on without it; the first level still serves


UNTRUSTED_LOCAL = (
    "cache entries fetched from the remote cache under a key that is no longer trusted (or is revoked) "
    "are not used: those files are compiled again"
)


class Builder:
    """Per-process: builds files with one toolchain, command and store."""

    def __init__(
        self,
        toolchain: Toolchain,
        command: CompileCommand,
        rootdir: Path,
        store: Store | None,
        settings: Settings,
        lock_dir: Path | None = None,
        remote: RemoteCache | None = None,
        remote_mark: str = "",
        trust: TrustedKeys | None = None,
    ) -> None:
        self.rootdir = rootdir
        self.store = store
        self.remote = remote if store is not None else None  # the shared tier feeds the local store
        self.remote_mark = remote_mark  # EntryMeta.origin of the entries this session fetched
        self.trust = trust or TrustedKeys((), frozenset())  # whose fetched entries the local cache still serves
        self.compiler = Compiler(toolchain, command, rootdir, settings, lock_dir)
        self.key_inputs = KeyInputs.current(toolchain, command, rootdir)
        self.run_dir = new_run_dir()
        self.front = write_front(self.run_dir)  # the C-compiler front's launcher (cfront.py)
        self.c_server = _open_c_level(store, settings, self.trust, self.remote)
        self.c_env = c_level_env(self.front, self.c_server) if self.c_server is not None else None
        self.writable = True  # False after a write failed: reads go on
        self.hits = 0  # distinct entries served: a file run again (alone, or rerun) is still one file
        self.saved_seconds = 0.0
        self._served: set[str] = set()
        self._compiled: set[str] = set()  # keys this process compiled and stored
        self._noted: set[str] = set()
        self._counter = 0
        self._lock = threading.Lock()  # builds may run in run-ahead threads: counters stay exact

    @property
    def stats(self) -> BuildStats:
        c = self.compiler
        return BuildStats(
            c.compiled,
            c.compile_seconds,
            self.hits,
            self.saved_seconds,
            c.retries,
            self.c_server.counts["reused"] if self.c_server else 0,
            self.c_server.counts["compiled"] if self.c_server else 0,
            c.not_started,
        )

    @property
    def c_remote(self) -> RemoteCache | None:
        return self.c_server.remote if self.c_server is not None else None

    def close(self) -> None:
        if self.c_server is not None:
            self.c_server.close()
            if self.c_server.remote is not None:
                self.c_server.remote.close()  # its uploads flushed, as the first level's
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def generate_c(self, source: Path) -> Generated:
        """The C this toolchain generates for ``source``, normalized (a golden-C test); the C step skipped."""
        compiler = self.compiler
        return generate(
            compiler.toolchain,
            compiler.command,
            self.rootdir,
            source,
            generate_only_env(self.front),
            compiler.compile_timeout,
            compiler.output_limit,
        )

    def source_arg(self, source: Path) -> str:
        """The path string passed to the compiler (hostpaths.compile_arg: the forecast's keys use it too)."""
        return compile_arg(source, self.rootdir)

    def _slot(self, source: Path) -> Path:
        with self._lock:
            self._counter += 1
            slot = self.run_dir / str(self._counter)
        slot.mkdir()
        return slot / executable_name(source.stem or "test")

    def build(self, source: Path, cancel: threading.Event | None = None) -> BuildResult:
        """Build (or serve from the cache) one file; ``cancel`` from another thread kills the compile."""
        return self._build(source, self.source_arg(source), cancel)

    def _build(self, source: Path, arg: str, cancel: threading.Event | None) -> BuildResult:
        try:
            data = read_source(source)
        except SpecError as exc:
            return BuildResult(False, problem=f"cannot compile it: {exc.message}")
        except OSError as exc:
            return BuildResult(False, problem=f"cannot read the file to compile it: {exc.strerror or exc}")
        result = self._build_bytes(source, arg, data, cancel)
        result.source_digest = sha256_bytes(data)
        return result

    def _build_bytes(self, source: Path, arg: str, data: bytes, cancel: threading.Event | None) -> BuildResult:
        key, notes = keyed(self.key_inputs, arg, data)
        warnings = self._once(notes)
        if self.store is None:
            result = self._compile_uncached(source, arg, cancel)
            result.warnings[:0] = warnings
            return result
        try:
            hit = self._serve(key, source, warnings)
            if hit is not None:
                return hit
            if not self.writable:
                result = self._compile_uncached(source, arg, cancel)
                result.warnings[:0] = warnings
                return result
            with self.store.lock(key):
                hit = self._serve(key, source, warnings)
                if hit is not None:
                    return hit
                if self.remote is not None and self.remote.fetch(key, locked=True):
                    hit = self._serve(key, source, warnings)
                    if hit is not None:
                        return hit
                result = self._compile_and_publish(source, arg, key, cancel)
        except OSError as exc:
            # The cache went away under us (deleted, full, read-only): build without it.
            result = self._compile_uncached(source, arg, cancel)
            warnings.append(self._give_up_cache(exc))
        result.warnings[:0] = warnings
        return result

    def _once(self, notes: list[str]) -> list[str]:
        """The notes not given yet by this process (a planted module is named once, not per file)."""
        with self._lock:
            fresh = [n for n in notes if n not in self._noted]
            self._noted.update(fresh)
        return fresh

    def _give_up_cache(self, exc: OSError) -> str:
        """Stop writing a cache that failed (full, read-only): one warning; its entries are still served."""
        self.writable = False
        return (
            f"the compile cache cannot be written ({exc.strerror or exc}); "
            "this run still uses the entries it has and compiles the rest without storing them"
        )

    def _serve(self, key: str, source: Path, warnings: list[str]) -> BuildResult | None:
        assert self.store is not None
        try:
            entry = self.store.lookup(key)
        except CorruptEntry as exc:
            warnings.append(str(exc))
            return None
        if entry is None:
            return None
        if entry.meta.from_remote and not self.trust.still_trusts(entry.meta.signer):
            warnings += self._once([UNTRUSTED_LOCAL])
            return None  # compiled again here, and the entry replaced
        try:
            result = self._from_entry(entry, source)
        except UnsafeEntry:
            result = None
        except OSError as exc:
            # Our side failed (a full TMPDIR, say): the entry is not to blame and stays.
            return BuildResult(False, problem=f"cannot copy the cached binary to run it: {exc.strerror or exc}")
        if result is None:
            self.store.discard(key)
            warnings.append(f"cache entry {key[:12]} was damaged (its binary does not match its hash); rebuilt")
            return None
        with self._lock:
            if key not in self._served and key not in self._compiled:  # a file compiled here, run again, is no hit
                self._served.add(key)
                self.hits += 1
                self.saved_seconds += entry.meta.compile_seconds
        result.remote = bool(self.remote_mark) and entry.meta.origin == self.remote_mark
        if self.remote is not None and not entry.meta.from_remote:
            self.remote.offer(key)  # a writer shares what it compiled and the remote may lack
        result.warnings[:0] = warnings
        return result

    def _from_entry(self, entry: Entry, source: Path) -> BuildResult | None:
        """The entry as a build, None when its binary does not match its hash; OSError: ours to fail."""
        meta = entry.meta
        if meta.status != "ok" or entry.binary is None:
            return BuildResult(False, diagnostics=meta.diagnostics, compile_seconds=meta.compile_seconds, cached=True)
        target = self._slot(source)
        if not copy_verified(entry.binary, target, meta.binary_sha256):
            return None
        command = tuple(self.compiler.argv(self.source_arg(source), target))
        return BuildResult(True, target, meta.diagnostics, meta.compile_seconds, cached=True, command=command)

    def _compile_and_publish(self, source: Path, arg: str, key: str, cancel: threading.Event | None) -> BuildResult:
        """Compile into this process's private directory, then store a copy in the cache.

        The compile never writes into the cache directory, so a full or broken
        cache costs the cache entry, never the build.
        """
        assert self.store is not None
        result, attempt = self._compile(source, arg, cancel)
        if not attempt.cacheable or not self._unchanged(source, arg, key):
            return result
        meta = EntryMeta(
            "ok" if result.ok else "failed", result.compile_seconds, attempt.done.returncode or 0, result.diagnostics
        )
        try:
            staged = self.store.new_staging_dir()
            try:
                if result.binary is not None:
                    shutil.copyfile(result.binary, staged / "binary")
                    os.chmod(staged / "binary", 0o700)
                self.store.publish(key, staged, meta)
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        except OSError as exc:
            result.warnings.append(self._give_up_cache(exc))
            return result
        with self._lock:
            self._compiled.add(key)
        if self.remote is not None:
            self.remote.offer(key)
        return result

    def _unchanged(self, source: Path, arg: str, key: str) -> bool:
        """The inputs still hash to key: nothing was edited while we compiled."""
        try:
            return compute_key(self.key_inputs, arg, read_source(source)) == key
        except (OSError, SpecError):
            return False

    def _compile_uncached(self, source: Path, arg: str, cancel: threading.Event | None) -> BuildResult:
        return self._compile(source, arg, cancel)[0]

    def _compile(self, source: Path, arg: str, cancel: threading.Event | None) -> tuple[BuildResult, Attempt]:
        """One compile into a fresh slot, its C step through the second level when there is one."""
        return self.compiler.compile(source, arg, self._slot(source), cancel, self.c_env)
