"""Per-session state (settings, toolchain, store, locks, record, builder) and how a worker gets it.

The controller (or the only process) loads everything once in ``start``;
an xdist worker gets the resolved result through ``WorkerPayload``, so that
every process uses the same compiler identity and the same checked cache path.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .engine.build import Builder, BuildStats
from .engine.cache import CacheDirError, Store
from .engine.compiling import shared_lock_dir, sweep_run_dirs
from .engine.process import sweep
from .engine.record import InFlight, Record
from .engine.remote.tier import RemoteCache, RemoteStats, local_trust
from .engine.runahead import RunAhead
from .engine.settings import Settings
from .engine.toolchain import CompileCommand, NoCompilerFound, Toolchain, ToolchainError, load_toolchain

PRELOADED = pytest.StashKey[Toolchain]()  # the forecast loads the toolchain first; configure reuses it


@dataclass
class WynSession:
    settings: Settings
    rootdir: Path
    toolchain: Toolchain | None = None
    command: CompileCommand | None = None
    store: Store | None = None
    cache_problem: str = ""
    lock_dir: Path | None = None
    lock_problem: str = ""
    record: Record = field(default_factory=lambda: Record({}))
    stats: BuildStats = field(default_factory=BuildStats)
    run_ahead: RunAhead | None = None  # set while a one-process session runs files ahead
    in_flight: InFlight | None = None  # without xdist: which files are being built or run
    missing_compiler: str = ""  # no compiler was found: why, for every Wyn test that runs
    remote: RemoteCache | None = None  # the shared tier, in this process
    remote_mark: str = ""  # what this session's fetched entries are marked with (EntryMeta.origin)
    remote_stats: RemoteStats = field(default_factory=RemoteStats)  # this process's, and its workers'
    remote_c_stats: RemoteStats = field(default_factory=RemoteStats)  # the same for the second cache level
    _builder: Builder | None = None

    def builder(self) -> Builder:
        if self._builder is None:
            if self.toolchain is None or self.command is None:
                raise NoCompilerFound(self.missing_compiler or "no Wyn toolchain was loaded for this session")
            self._builder = Builder(
                self.toolchain,
                self.command,
                self.rootdir,
                self.store,
                self.settings,
                self.lock_dir,
                self.remote,
                self.remote_mark,
                local_trust(self.settings.remote),
            )
        return self._builder

    def finish(self) -> None:
        """Fold the builder's statistics in, finish the uploads and remove the private directory."""
        sweep()  # what finished binaries left behind (setpgid) dies before the session reports
        if self._builder is not None:
            self.stats.add(asdict(self._builder.stats))
            if self._builder.c_remote is not None:
                self._builder.c_remote.close()
                self.remote_c_stats.merge(self._builder.c_remote.stats.serialized())
            self._builder.close()
            self._builder = None
        if self.remote is not None:
            self.remote.close()
            self.remote_stats.merge(self.remote.stats.serialized())
            self.remote = None

    @property
    def cache_on(self) -> bool:
        return self.store is not None and (self._builder is None or self._builder.store is not None)


@dataclass(frozen=True)
class WorkerPayload:
    """What the controller resolved, for a worker (as pytest-mypy's MypyConfigStash)."""

    toolchain: Toolchain
    store: str  # resolved cache directory, "" when the cache is off
    cache_problem: str
    lock_dir: str  # "" when build locks are off
    remote_mark: str = ""
    remote_off: str = ""  # the controller found the shared cache unusable: workers do not try it again
    remote_asked: tuple[str, ...] = ()  # keys the controller asked the remote for already: not asked again

    def serialized(self) -> dict[str, Any]:
        return {**asdict(self), "toolchain": self.toolchain.to_json()}

    @classmethod
    def from_serialized(cls, data: dict[str, Any]) -> WorkerPayload:
        return cls(
            Toolchain.from_json(data["toolchain"]),
            data["store"],
            data["cache_problem"],
            data["lock_dir"],
            data.get("remote_mark", ""),
            data.get("remote_off", ""),
            tuple(data.get("remote_asked", ())),
        )


def start(config: pytest.Config, opts: Settings) -> WynSession:
    """Everything a session needs before collection; a worker takes it from its payload."""
    session = WynSession(opts, config.rootpath)
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and "wyn" in worker_input:
        _from_payload(session, WorkerPayload.from_serialized(worker_input["wyn"]))
        return session
    if config.option.collectonly:
        return session  # collection never compiles: no compiler needed
    try:
        session.toolchain = config.stash.get(PRELOADED, None) or load_toolchain(
            opts.compiler_option, opts.compiler_ini, opts.compiler_env, config.rootpath
        )
        session.command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    except ToolchainError as exc:
        raise pytest.UsageError(f"pytest-wyn: {exc}") from None
    except NoCompilerFound as exc:
        # A run that selects no Wyn test (`pytest tests/test_py.py`, `-m "not wyn"`) needs no compiler:
        # each Wyn test that runs fails with this instead.
        session.missing_compiler = str(exc)
        return session
    _open_store(session)
    if session.store is not None:
        session.remote = open_remote(config, opts)
        session.remote_mark = session.remote.mark if session.remote is not None else ""
    session.lock_dir, session.lock_problem = shared_lock_dir()
    sweep_run_dirs()
    session.record = Record.load(getattr(config, "cache", None))
    return session


def payload(session: WynSession) -> WorkerPayload | None:
    if session.toolchain is None:
        return None
    return WorkerPayload(
        session.toolchain,
        str(session.store.root) if session.store is not None else "",
        session.cache_problem,
        str(session.lock_dir or ""),
        session.remote_mark,
        session.remote.off if session.remote is not None else "",
        session.remote.asked() if session.remote is not None else (),
    )


def _from_payload(session: WynSession, data: WorkerPayload) -> None:
    opts = session.settings
    session.toolchain = data.toolchain
    session.command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    session.cache_problem = data.cache_problem
    session.lock_dir = Path(data.lock_dir) if data.lock_dir else None
    session.store = Store(Path(data.store)) if data.store else None
    session.remote_mark = data.remote_mark
    if session.store is not None and opts.remote is not None and data.remote_mark:
        session.remote = RemoteCache(opts.remote, session.store, data.remote_mark, data.remote_off)
        session.remote.stats.notices.clear()  # the controller has said it already
        session.remote.asked_already(data.remote_asked)


def _open_store(session: WynSession) -> None:
    opts = session.settings
    if not opts.use_cache:
        session.cache_problem = "disabled (--wyn-no-cache)"
        return
    store = Store(opts.cache_dir)
    try:
        store.prepare()
        if opts.clear_cache:
            store.clear()
            c_level = Store(opts.c_cache_dir or store.root / "c")
            if c_level.root.is_dir():
                c_level.prepare()
                c_level.clear()  # both levels: --wyn-cache-clear empties the compile cache
        store.sweep_staging()
    except CacheDirError as exc:
        raise pytest.UsageError(f"pytest-wyn: refusing the cache directory: {exc}") from None
    except OSError as exc:
        session.cache_problem = f"{opts.cache_dir} is not writable ({exc.strerror or exc}); running without the cache"
        return
    session.store = store


REMOTE = pytest.StashKey["RemoteCache | None"]()  # made once per session, by the forecast or by start


def open_remote(config: pytest.Config, opts: Settings) -> RemoteCache | None:
    """The controller's (or only process's) remote tier: made once, by whichever asks first.

    The forecast asks first when it runs (it fetches ahead, before the worker plan);
    ``start`` reuses it. None without a remote, or without a usable local cache to feed.
    """
    if REMOTE in config.stash:
        return config.stash[REMOTE]
    remote = None
    if opts.remote is not None and opts.use_cache:
        store = Store(opts.cache_dir)
        try:
            store.prepare()
            remote = RemoteCache(opts.remote, store, "remote:" + secrets.token_hex(8))
        except (CacheDirError, OSError):
            pass  # start() says why the local cache is off
    config.stash[REMOTE] = remote
    return remote


SESSION_KEY = pytest.StashKey[WynSession]()


def get_session(config: pytest.Config) -> WynSession:
    return config.stash[SESSION_KEY]
