"""The plugin objects pytest-wyn registers, one per role, each only where its role exists.

As pytest's own ``LogXML`` and ``LFPlugin``: an object holds the session's
state and its hooks, and is registered only when the plugin is on, so no hook
has to ask first whether it should do anything.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from . import WynWarning
from .compat import terminal_status
from .engine import (
    MEMORY_LIMIT_WORKS,
    BuildStats,
    Engine,
    FileRun,
    InFlight,
    Loop,
    RemoteStats,
    RunAhead,
    SessionReport,
    Settings,
    finish,
    is_snapshot_test,
    is_test_file,
    is_wyn_file,
    module_deps,
    others_can_write,
    payload,
    save_worker_startup,
    wyn_path,
)
from .items import WynFile, WynItem, may_skip
from .snapshots import WynSnapshotFile, WynSnapshotItem
from .waiting import WaitingLine
from .workers.forecast import expected_wyn_files
from .workers.hosts import THIS_MACHINE, host_label, is_elsewhere
from .workers.parallel import RUN_AHEAD_ALLOWED


class WynPlugin:
    """Collection, reports and the end of the session: in every process, when ``--wyn``/``wyn = true``."""

    def __init__(self, config: pytest.Config, engine: Engine, report: SessionReport) -> None:
        self.config = config
        self.engine = engine
        self.report = report
        self.loop = Loop()
        self.in_flight: InFlight | None = None  # without xdist: which files are being built or run
        self.tools = engine.file_tools(report, None)  # each file's run's share of the session
        self.is_worker = hasattr(config, "workerinput")
        self.session_errors: list[str] = []  # session-end WynWarnings that -W made errors
        self.startup_cpu = 0.0  # in a worker: CPU seconds from its start to its session's
        self.others: dict[pytest.Item, int] = {}  # under run-ahead: each other test's position in the session
        self.wyn_modules: dict[str, list[str]] = {}  # under pytest-testmon: modules of Wyn tests not yet told

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_worker:
            self.startup_cpu = time.process_time()  # this worker's start: for the next worker decision
            return
        engine, report = self.engine, self.report
        if engine.toolchain is not None and not self.config.pluginmanager.hasplugin("dsession"):
            self.in_flight = InFlight(getattr(self.config, "cache", None))
            self.tools = engine.file_tools(report, self.in_flight)
            died = self.in_flight.left_over()
            if died:
                message = (
                    f"pytest-wyn: the previous session ended abruptly while running {', '.join(died)}: "
                    "a test binary may have killed pytest itself (run that file alone with -n 1 to see it)"
                )
                self.config.issue_config_time_warning(WynWarning(message), 2)
        if report.cache_problem and "disabled" not in report.cache_problem:
            self.config.issue_config_time_warning(WynWarning(f"pytest-wyn cache: {report.cache_problem}"), 2)
        if engine.toolchain is not None and others_can_write(engine.toolchain.path):
            message = (
                f"pytest-wyn: the Wyn compiler {engine.toolchain.path} can be changed by another user (the file or "
                "its folder is writable by others): they could plant code that every test compiles and runs; "
                "make it writable by you alone (chmod go-w on it and its folder)"
            )
            self.config.issue_config_time_warning(WynWarning(message), 2)
        if report.lock_problem and engine.toolchain is not None:
            message = f"pytest-wyn: {report.lock_problem}; concurrent builds of one file may collide"
            self.config.issue_config_time_warning(WynWarning(message), 2)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.File | None:
        if not is_wyn_file(file_path.name):
            return None
        if is_snapshot_test(file_path):
            return WynSnapshotFile.from_parent(parent, path=file_path, engine=self.engine)
        if not is_test_file(file_path, self.engine.settings.files, named=parent.session.isinitpath(file_path)):
            return None
        return WynFile.from_parent(parent, path=file_path, engine=self.engine, tools=self.tools, loop=self.loop)

    def pytest_report_header(self) -> list[str]:
        engine = self.engine
        if engine.missing_compiler:
            return [f"wyn: {engine.missing_compiler.splitlines()[0]} (only the Wyn tests that run fail for it)"]
        if engine.toolchain is None:
            return ["wyn: collection only (no compiler needed)"]
        tc = engine.toolchain
        lines = [f"wyn: {tc.path} ({tc.version}; found by {tc.found_by})"]
        cache = str(engine.store.root) if engine.store is not None else self.report.cache_problem
        lines.append(f"wyn cache: {cache}")
        return lines

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.when == "call" and isinstance(item, WynSnapshotItem) and item.wyn_update:
            report.wyn_update = item.wyn_update
        if call.when == "call" and isinstance(item, WynItem):
            if item.wyn_update:
                report.wyn_update = item.wyn_update  # travels with the report, through xdist too
            if item.real_duration is not None:
                report.duration = item.real_duration  # its run, even when it ran ahead of the item
        if call.when == "teardown" and self.config.pluginmanager.hasplugin("TestmonCollect"):
            self._tell_testmon(item, report)
        return report

    def _tell_testmon(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """pytest-testmon knows a test's dependencies from Python coverage, and a Wyn test's file only:
        add the modules it imports, so that editing one reselects the test.

        Testmon fingerprints what its (inner) hook put in ``report.nodes_files_lines``, one batch of
        tests at a time: a Wyn test's modules are added when its batch is written.
        """
        if isinstance(item, WynItem):
            self.wyn_modules[item.nodeid] = wyn_modules(item.parent, self.config.rootpath)
        batch = getattr(report, "nodes_files_lines", None)
        if not batch:
            return
        for nodeid, files in batch.items():
            for module in self.wyn_modules.pop(nodeid, ()):
                files.setdefault(module, {1})  # a non-Python file is one block to testmon: any edit counts

    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        if report.when == "call" and report.passed and update_of(report):
            return "passed", "U", ("UPDATED", {"green": True})
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        """Without workers, and unless the user asked for strictly serial runs: run files ahead."""
        if not self._runs_ahead(session):
            return (yield)
        # Only files with an item that will run: a skipped file is never built, ahead or not.
        runs = [item.parent.file_run for item in session.items if isinstance(item, WynItem) and not may_skip(item)]
        files = list(dict.fromkeys(run for run in runs if run is not None))  # (None: a file that did not parse)
        barriers, self.others = _barriers(session.items)
        run_ahead = RunAhead(
            files,
            self.report.record.files,
            lambda: bool(session.shouldstop or session.shouldfail),
            list(barriers.items()),
            self._waiting_line(len(files)),
        )
        self.loop.run_ahead = run_ahead
        try:
            return (yield)
        finally:
            self.loop.run_ahead = None
            self.others = {}
            run_ahead.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        try:
            return (yield)
        finally:
            position = self.others.get(item)
            run_ahead = self.loop.run_ahead
            if position is not None and run_ahead is not None:
                run_ahead.passed(position)  # its teardown is done: the files behind it may start

    def _waiting_line(self, total: int) -> WaitingLine | None:
        write = terminal_status(self.config)
        if write is None:
            return None
        builder = self.engine.require_builder()

        def progress() -> tuple[int, int]:
            stats = builder.stats
            return int(stats.compiled + stats.not_started + stats.hits), total

        return WaitingLine(write, progress)

    def _runs_ahead(self, session: pytest.Session) -> bool:
        config = self.config
        if self.is_worker or self.engine.builder is None or not config.stash.get(RUN_AHEAD_ALLOWED, False):
            return False
        if config.pluginmanager.hasplugin("dsession"):
            return False  # xdist distributes: the workers run the files
        return any(isinstance(item, WynItem) for item in session.items)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        engine, report = self.engine, self.report
        finish(engine, report)
        if self.in_flight is not None:
            self.in_flight.close()
        worker_output = getattr(self.config, "workeroutput", None)
        if worker_output is not None:
            worker_output["wyn_startup_cpu"] = self.startup_cpu
            worker_output["wyn_stats"] = asdict(report.stats)
            worker_output["wyn_remote"] = report.remote_stats.serialized()
            worker_output["wyn_remote_c"] = report.remote_c_stats.serialized()
            worker_output["wyn_record"] = report.record.serialized_notes()
            return
        report.record.save(getattr(self.config, "cache", None))
        notices = remote_notices(report.remote_stats) + remote_notices(report.remote_c_stats, "C-level ")
        for notice in dict.fromkeys(notices):  # the two levels share a server: what both say is said once
            # Said of the session, not of a line of pytest-wyn's code.
            where, line = remote_source(engine.settings)
            try:
                warnings.warn_explicit(WynWarning(f"pytest-wyn: {notice}"), WynWarning, where, line)
            except WynWarning as exc:  # -W error::pytest_wyn.WynWarning: the session fails, saying why
                self.session_errors.append(str(exc))
        if self.session_errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if engine.store is not None:
            try:
                engine.store.evict(engine.settings.cache_max_size)
            except OSError:
                pass

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for error in self.session_errors:
            terminalreporter.write_line(f"ERROR (a WynWarning made an error by -W): {error}", red=True)
        stats = self.report.stats
        if self.is_worker or not (stats.compiled or stats.hits or stats.not_started):
            return
        tr = terminalreporter
        tr.ensure_newline()  # pytest -v leaves its line open: else the section gets a stray blank line
        tr.section("wyn", sep="-", bold=False)
        line = (
            f"compiled {int(stats.compiled)} file(s) in {stats.compile_seconds:.1f} s, "
            f"{int(stats.hits)} from the cache (saved {stats.saved_seconds:.1f} s of compiling)"
        )
        if stats.retries:
            line += f", {int(stats.retries)} build(s) retried for host reasons"
        tr.write_line(line)
        if stats.not_started:
            tr.write_line(f"the compiler could not be started for {int(stats.not_started)} file(s): see their failures")
        c_steps = int(stats.c_reused + stats.c_compiled)
        if c_steps:
            tr.write_line(
                f"C generated for {c_steps} of them: {int(stats.c_reused)} C compile(s) reused "
                f"(the second cache level), {int(stats.c_compiled)} compiled"
            )
        remote = remote_line(self.report.remote_stats)
        if remote:
            tr.write_line(remote)
        c_stats = self.report.remote_c_stats
        if c_stats.looked_up or c_stats.uploaded or c_stats.upload_failed or sum(c_stats.rejected.values()):
            c_stats = dataclasses.replace(c_stats, off="")  # the first level's line says it went off
            tr.write_line(remote_line(c_stats).replace("remote cache:", "remote cache, C level:", 1))
        settings = self.engine.settings
        if settings.memory_limit_set and settings.memory_limit and not MEMORY_LIMIT_WORKS:
            tr.write_line(
                "wyn_memory_limit is not applied here: this system refuses an address-space limit "
                "(macOS); the CPU-time limit still is"
            )


class XdistController:
    """The xdist controller's part: the workers' payload, their statistics, our scheduler."""

    def __init__(self, config: pytest.Config, engine: Engine, report: SessionReport, own_scheduler: bool) -> None:
        self.config = config
        self.engine = engine
        self.report = report
        self.own_scheduler = own_scheduler
        self.startups: list[float] = []  # CPU seconds each worker took to start (plan.py's start-up cost)
        self.machines: dict[str, HostTally] = {}  # each machine's workers and what they did
        self.collection_notes: list[str] = []  # workers that collected fewer Wyn files than this machine sees

    def pytest_configure_node(self, node: Any) -> None:
        spec = node.gateway.spec
        elsewhere = is_elsewhere(spec)
        if self.engine.remote is not None and not elsewhere:
            self.engine.remote.settle()  # what is fetched ahead is in the local cache before a worker looks
        host = host_label(spec)
        self.machines.setdefault(host, HostTally()).workers.append(node.gateway.id)
        node.workerinput["wyn"] = payload(self.engine, self.report, elsewhere, host).serialized()

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """A worker on another machine that collected fewer Wyn files than this one finds (its checkout): say so.

        Only for other machines: a local worker collects this machine's files
        (and xdist already compares workers with each other).
        """
        if not is_elsewhere(node.gateway.spec):
            return
        expected = expected_wyn_files(self.config, self.engine.settings)
        if expected is None:
            return
        collected = {nodeid.split("::", 1)[0] for nodeid in ids}
        missing = sorted(set(expected) - collected)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            self.collection_notes.append(
                f"worker {node.gateway.id} ({host_label(node.gateway.spec)}) did not collect {len(missing)} of the "
                f"{len(expected)} Wyn test file(s) this machine finds: {shown}. Is its checkout (chdir=) at the "
                "same commit, with the same ini file?"
            )

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.report.stats.add(output.get("wyn_stats", {}))
        self.report.record.merge_notes(output.get("wyn_record", {}))
        self.report.remote_stats.merge(output.get("wyn_remote", {}))
        self.report.remote_c_stats.merge(output.get("wyn_remote_c", {}))
        tally = self.machines.setdefault(host_label(node.gateway.spec), HostTally())
        tally.stats.add(output.get("wyn_stats", {}))
        tally.fetched += int(output.get("wyn_remote", {}).get("fetched", 0))
        startup = output.get("wyn_startup_cpu")
        if isinstance(startup, float) and startup > 0 and not is_elsewhere(node.gateway.spec):
            self.startups.append(startup)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        save_worker_startup(getattr(self.config, "cache", None), self.startups)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Under -v, which machine compiled what (after the wyn section); and any short collection."""
        tr = terminalreporter
        for note in self.collection_notes:
            tr.write_line(f"WARNING (pytest-wyn): {note}", yellow=True)
        if self.config.option.verbose <= 0 or not any(t.stats.compiled or t.stats.hits for t in self.machines.values()):
            return
        here = self.machines.get(THIS_MACHINE)
        if here is not None:  # what this machine fetched ahead for its workers counts as theirs
            here.fetched = self.report.remote_stats.fetched - sum(
                t.fetched for host, t in self.machines.items() if host != THIS_MACHINE
            )
        for host, tally in self.machines.items():
            tr.write_line(f"  on {host} ({', '.join(tally.workers)}): {tally.summary()}")

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Ours only where we chose the distribution: the user's --dist is theirs."""
        if not self.own_scheduler or config.getvalue("dist") != "load":
            return None
        from .workers.schedule import WynScheduling  # imports xdist internals: only here

        return WynScheduling(config, log, self.report.record.priorities(config.rootpath))


@dataclasses.dataclass
class HostTally:
    """One machine's part of a distributed run, for the summary under -v."""

    workers: list[str] = dataclasses.field(default_factory=list)
    stats: BuildStats = dataclasses.field(default_factory=BuildStats)
    fetched: int = 0

    def summary(self) -> str:
        line = f"compiled {self.stats.compiled} file(s), {self.stats.hits} from the cache"
        return line + (f", {self.fetched} fetched from the remote cache" if self.fetched else "")


def wyn_modules(file: WynFile, rootdir: Path) -> list[str]:
    """The module files a Wyn test file imports, relative to the rootdir (only those inside it)."""
    try:
        source = wyn_path(file.path.relative_to(rootdir))
    except ValueError:
        return []
    found = []
    for dep in module_deps("\n".join(file.lines), source, rootdir):
        if dep.path is None:
            continue
        full = Path(rootdir, dep.path).resolve()
        try:
            found.append(wyn_path(full.relative_to(rootdir.resolve())))
        except ValueError:
            continue  # outside the project: testmon tracks the project's files
    return found


def remote_line(stats: RemoteStats) -> str:
    """The wyn summary's line about the shared cache ("" when it played no part)."""
    parts = []
    if stats.off and not stats.fetched:
        parts.append("off (see the warning)")
    elif stats.looked_up:
        parts.append(
            f"{stats.fetched} of {stats.looked_up} file(s) missing here fetched "
            f"(fetching ahead took {stats.fetch_seconds:.1f} s)"
        )
    rejected = sum(stats.rejected.values())
    if rejected:
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(stats.rejected.items()))
        parts.append(f"{rejected} rejected ({why})")
    if stats.uploaded:
        parts.append(f"{stats.uploaded} uploaded")
    if stats.upload_failed:
        parts.append(f"{stats.upload_failed} upload(s) failed")
    return f"remote cache: {', '.join(parts)}" if parts else ""


def remote_source(settings: Settings) -> tuple[str, int]:
    """Where the session's remote-cache warnings point: where the remote cache was set (not a line of our code)."""
    remote = settings.remote
    return remote.source if remote is not None else ("wyn_remote_cache", 1)


def remote_notices(stats: RemoteStats, level: str = "") -> list[str]:
    """What the user must hear once about the shared cache: it went off, writes stopped, entries rejected."""
    said = list(stats.notices)
    rejected = sum(stats.rejected.values())
    if rejected:
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(stats.rejected.items()))
        said.append(
            f"{rejected} {level}entr{'y' if rejected == 1 else 'ies'} of the remote cache rejected ({why}); "
            "they were compiled here instead"
        )
    if stats.upload_failed:
        said.append(
            f"{stats.upload_failed} {level}upload(s) to the remote cache failed (the last: {stats.upload_problem}); "
            "the shared cache is not being filled"
        )
    return said


def _barriers(items: list[pytest.Item]) -> tuple[dict[FileRun, int], dict[pytest.Item, int]]:
    """For each Wyn file, the position of the last other test before its first test; and those positions.

    A Python test may set the environment, change directory or write files a
    binary reads: a file runs ahead only once the tests before it are done.
    """
    barriers: dict[FileRun, int] = {}
    others: dict[pytest.Item, int] = {}
    last = -1
    for position, item in enumerate(items):
        if isinstance(item, WynItem):
            if item.parent.file_run is not None:
                barriers.setdefault(item.parent.file_run, last)
        else:
            others[item] = position
            last = position
    return barriers, others


def update_of(report: pytest.TestReport) -> str:
    return str(getattr(report, "wyn_update", "") or "")


class UpdateLog:
    """``--wyn-update``'s summary, as syrupy's --snapshot-update reports: every diff, then one line.

    Registered on the controller (or the only process) when updating; the
    diffs reach it with the reports, from workers too.
    """

    def __init__(self) -> None:
        self.diffs: dict[str, str] = {}  # file nodeid -> diff

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        diff = update_of(report)
        if diff and report.when == "call":
            self.diffs.setdefault(report.nodeid.split("::", 1)[0], diff)

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.diffs:
            return
        tr = terminalreporter
        tr.section("wyn --wyn-update", sep="-", bold=False)
        added = 0
        for diff in self.diffs.values():
            for line in diff.splitlines():
                tr.write_line(line)
                added += line.startswith("+") and not line.startswith("+++")
        tr.write_line(f"updated {len(self.diffs)} file(s), {added} line(s); review the diff, then commit", green=True)
