"""The session's state, loaded once: the ``Engine`` (never changed) and the ``SessionReport`` (what it learns).

``load`` finds everything a process needs before collection: the toolchain,
the compile command, the cache and its lock folder, the shared cache, and the
builder (in a process that runs tests). An xdist worker on this machine takes
what its controller resolved (``WorkerPayload``), so that every process uses
the same compiler identity and the same checked cache path; a worker on
another machine finds its own, and checks them. The pytest side
(``startup.py``) calls ``load`` and hands the results to the plugin objects.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .build import Builder, BuildStats
from .buildlocks import shared_lock_dir
from .cache import CacheDirError, Store
from .errors import UsageError
from .inflight import InFlight
from .process import sweep
from .record import Record
from .remote.tier import RemoteCache, RemoteStats, local_trust
from .runahead import RunAhead
from .rundirs import sweep_run_dirs
from .runner import FileTools
from .settings import Settings
from .toolchain import CompileCommand, NoCompilerFound, Toolchain, ToolchainError, load_toolchain


@dataclass(frozen=True)
class Engine:
    """What builds and runs this process's files: loaded once before collection, never changed after.

    The builder is made here, eagerly, in every process that runs tests (not
    in an xdist controller that only distributes them); None also when no
    compiler was found (``missing_compiler`` says why, to every Wyn test that runs).
    """

    settings: Settings
    rootdir: Path
    toolchain: Toolchain | None = None
    command: CompileCommand | None = None
    store: Store | None = None
    lock_dir: Path | None = None
    remote: RemoteCache | None = None  # the shared tier, in this process
    remote_mark: str = ""  # what this session's fetched entries are marked with (EntryMeta.origin)
    missing_compiler: str = ""
    builder: Builder | None = None

    def require_builder(self) -> Builder:
        if self.builder is None:
            raise NoCompilerFound(self.missing_compiler or "no Wyn toolchain was loaded for this session")
        return self.builder

    @property
    def cache_on(self) -> bool:
        return self.store is not None and (self.builder is None or self.builder.store is not None)

    def file_tools(self, report: SessionReport, in_flight: InFlight | None) -> FileTools:
        """What each file's run takes from the session (runner.FileRun)."""
        return FileTools(self.settings, self.rootdir, report.record, in_flight, self.builder, self.missing_compiler)


@dataclass
class SessionReport:
    """What the session learns as it goes and says at its end: problems found at the start, statistics
    (this process's, and its workers'), the scheduling record."""

    cache_problem: str = ""
    lock_problem: str = ""
    record: Record = field(default_factory=lambda: Record({}))
    stats: BuildStats = field(default_factory=BuildStats)
    remote_stats: RemoteStats = field(default_factory=RemoteStats)
    remote_c_stats: RemoteStats = field(default_factory=RemoteStats)  # the same for the second cache level


def finish(engine: Engine, report: SessionReport) -> None:
    """Fold the builder's statistics into the report, finish the uploads and remove the private directory."""
    sweep()  # what finished binaries left behind (setpgid) dies before the session reports
    builder = engine.builder
    if builder is not None:
        report.stats.add(asdict(builder.stats))
        if builder.c_remote is not None:
            builder.c_remote.close()
            report.remote_c_stats.merge(builder.c_remote.stats.serialized())
        builder.close()
    if engine.remote is not None:
        engine.remote.close()
        report.remote_stats.merge(engine.remote.stats.serialized())


@dataclass
class Loop:
    """What this process's run loop is doing now: running files ahead (runahead.py), or not."""

    run_ahead: RunAhead | None = None


@dataclass
class _Loading:
    """The session's parts while ``start`` finds them; frozen into an ``Engine`` at its end."""

    settings: Settings
    rootdir: Path
    toolchain: Toolchain | None = None
    command: CompileCommand | None = None
    store: Store | None = None
    cache_problem: str = ""
    lock_dir: Path | None = None
    lock_problem: str = ""
    record: Record = field(default_factory=lambda: Record({}))
    missing_compiler: str = ""
    remote: RemoteCache | None = None
    remote_mark: str = ""

    def done(self, runs_tests: bool) -> tuple[Engine, SessionReport]:
        builder = None
        if runs_tests and self.toolchain is not None and self.command is not None:
            try:
                builder = Builder(
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
            except OSError as exc:  # no private build folder (a full or read-only temporary folder)
                self.missing_compiler = (
                    f"cannot prepare this process's build folder: {exc.strerror or exc}; no Wyn test can be built"
                )
        engine = Engine(
            self.settings,
            self.rootdir,
            self.toolchain,
            self.command,
            self.store,
            self.lock_dir,
            self.remote,
            self.remote_mark,
            self.missing_compiler,
            builder,
        )
        return engine, SessionReport(self.cache_problem, self.lock_problem, self.record)


@dataclass(frozen=True)
class WorkerPayload:
    """What the controller resolved, for a worker (as pytest-mypy's MypyConfigStash).

    A worker on this machine uses all of it. A worker on another machine
    (``elsewhere``: an ssh or socket gateway) takes the settings, minus
    credentials, and the controller's toolchain only to check its own
    against; it finds its own compiler, cache and lock folder (``start``).
    """

    settings: dict[str, Any]  # Settings.to_wire(): the settings are read once, by the controller
    toolchain: Toolchain | None  # None: the controller found no compiler (missing_compiler says why)
    missing_compiler: str = ""
    store: str = ""  # resolved cache directory, "" when the cache is off
    cache_problem: str = ""
    lock_dir: str = ""  # "" when build locks are off
    remote_mark: str = ""
    remote_off: str = ""  # the controller found the shared cache unusable: workers do not try it again
    remote_asked: tuple[str, ...] = ()  # keys the controller asked the remote for already: not asked again
    elsewhere: bool = False  # the worker runs on another machine (told by its gateway's spec)
    host: str = ""  # that machine, as the summary names it

    def serialized(self) -> dict[str, Any]:
        return {**asdict(self), "toolchain": self.toolchain.to_json() if self.toolchain is not None else None}

    @classmethod
    def from_serialized(cls, data: dict[str, Any]) -> WorkerPayload:
        toolchain = data.get("toolchain")
        return cls(
            data["settings"],
            Toolchain.from_json(toolchain) if toolchain else None,
            data.get("missing_compiler", ""),
            data.get("store", ""),
            data.get("cache_problem", ""),
            data.get("lock_dir", ""),
            data.get("remote_mark", ""),
            data.get("remote_off", ""),
            tuple(data.get("remote_asked", ())),
            bool(data.get("elsewhere", False)),
            data.get("host", ""),
        )


def load(
    settings: Settings,
    rootdir: Path,
    sent: WorkerPayload | None = None,
    *,
    preloaded: Toolchain | None = None,
    collect_only: bool = False,
    workers_elsewhere: bool = False,
    runs_tests: bool = True,
    open_remote: Callable[[], RemoteCache | None] = lambda: None,
    load_record: Callable[[], Record] = lambda: Record({}),
) -> tuple[Engine, SessionReport]:
    """Everything a session needs before collection; a worker on this machine takes it from ``sent``.

    ``sent``: what the controller resolved, in an xdist worker. ``preloaded``:
    the toolchain the worker plan already loaded. ``workers_elsewhere``: every
    worker runs on another machine, so the controller opens no remote cache
    (the workers read it, each into its own cache). ``runs_tests``: this
    process runs tests (not an xdist controller), so it gets a builder.
    ``open_remote`` and ``load_record``: the controller's shared cache and
    scheduling record, which the pytest side keeps for the session. Raises
    ``UsageError`` for a compiler or cache folder that cannot be used.
    """
    session = _Loading(settings, rootdir)
    if sent is not None and not sent.elsewhere:
        _from_payload(session, sent)
        return session.done(runs_tests)
    if collect_only and sent is None:
        return session.done(runs_tests)  # collection never compiles: no compiler needed
    try:
        session.toolchain = preloaded or load_toolchain(
            settings.compiler_option, settings.compiler_ini, settings.compiler_env, rootdir
        )
        session.command = CompileCommand.parse(
            settings.compile_command, list(settings.compile_args), settings.compile_output
        )
    except ToolchainError as exc:
        if sent is None:
            raise UsageError(f"pytest-wyn: {exc}") from None
        session.missing_compiler = f"on {sent.host}: {exc}"
        return session.done(runs_tests)
    except NoCompilerFound as exc:
        # A run that selects no Wyn test (`pytest tests/test_py.py`, `-m "not wyn"`) needs no compiler:
        # each Wyn test that runs fails with this instead.
        session.missing_compiler = f"on {sent.host}: {exc}" if sent is not None else str(exc)
        return session.done(runs_tests)
    if sent is not None:
        session.missing_compiler = toolchain_mismatch(sent, session.toolchain)
        if session.missing_compiler:
            session.toolchain = session.command = None  # every Wyn test on this worker fails, saying why
            return session.done(runs_tests)
    try:
        _open_store(session)
    except UsageError as exc:
        if sent is None:
            raise
        session.cache_problem = f"{exc}; running without the cache"  # a worker elsewhere: its own problem
    if session.store is not None:
        if sent is not None and settings.remote is not None:  # a worker on another machine: its own local cache
            session.remote = RemoteCache(settings.remote, session.store, "remote:" + secrets.token_hex(8))
        elif sent is None and not workers_elsewhere:
            session.remote = open_remote()
        session.remote_mark = session.remote.mark if session.remote is not None else ""
    session.lock_dir, session.lock_problem = shared_lock_dir()
    sweep_run_dirs()
    if sent is None:
        session.record = load_record()
    return session.done(runs_tests)


def toolchain_mismatch(sent: WorkerPayload, mine: Toolchain) -> str:
    """Why this host's compiler may not stand in for the controller's ("" when it is the same toolchain)."""
    theirs = sent.toolchain
    if theirs is None or theirs.identity == mine.identity:
        return ""
    return (
        f"the Wyn toolchain on {sent.host} is not the controller's, so its results could differ from a local run:\n"
        f"  {sent.host}: {mine.path} ({mine.version}; identity {mine.identity[:16]})\n"
        f"  controller: {theirs.path} ({theirs.version}; identity {theirs.identity[:16]})\n"
        "install the same Wyn build on every host (the identity covers the executable, its runtime files and "
        "its --version)"
    )


def payload(session: Engine, report: SessionReport, elsewhere: bool = False, host: str = "") -> WorkerPayload:
    settings = session.settings
    if elsewhere and settings.remote is not None:
        settings = dataclasses.replace(settings, remote=settings.remote.for_another_host())
    remote = session.remote
    return WorkerPayload(
        settings.to_wire(),
        session.toolchain,
        session.missing_compiler,
        str(session.store.root) if session.store is not None else "",
        report.cache_problem,
        str(session.lock_dir or ""),
        session.remote_mark,
        remote.off if remote is not None else "",
        remote.asked() if remote is not None and not elsewhere else (),
        elsewhere,
        host,
    )


def _from_payload(session: _Loading, data: WorkerPayload) -> None:
    opts = session.settings
    session.toolchain = data.toolchain
    session.missing_compiler = data.missing_compiler
    if data.toolchain is None:
        return
    session.command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    session.cache_problem = data.cache_problem
    session.lock_dir = Path(data.lock_dir) if data.lock_dir else None
    session.store = Store(Path(data.store)) if data.store else None
    session.remote_mark = data.remote_mark
    if session.store is not None and opts.remote is not None and data.remote_mark:
        session.remote = RemoteCache(opts.remote, session.store, data.remote_mark, data.remote_off)
        session.remote.stats.notices.clear()  # the controller has said it already
        session.remote.asked_already(data.remote_asked)


def _open_store(session: _Loading) -> None:
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
        raise UsageError(f"pytest-wyn: refusing the cache directory: {exc}") from None
    except OSError as exc:
        session.cache_problem = f"{opts.cache_dir} is not writable ({exc.strerror or exc}); running without the cache"
        return
    session.store = store


def open_shared_cache(settings: Settings) -> RemoteCache | None:
    """The controller's (or only process's) remote tier over its local cache.

    None without a remote, or without a usable local cache to feed (``load``
    says why the local cache is off).
    """
    if settings.remote is None or not settings.use_cache:
        return None
    store = Store(settings.cache_dir)
    try:
        store.prepare()
        return RemoteCache(settings.remote, store, "remote:" + secrets.token_hex(8))
    except (CacheDirError, OSError):
        return None
