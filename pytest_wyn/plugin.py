"""pytest hooks: options, switching on, collecting files, header and summary.

Kept thin: the work is done by the modules these hooks call.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from . import WynWarning, mistakes, parallel, settings
from .build import BuildStats, shared_lock_dir, sweep_run_dirs
from .cache import CacheDirError, Store
from .forecast import forecast_misses
from .items import WynFile, WynItem
from .session import SESSION_KEY, WynSession, get_session
from .toolchain import CompileCommand, Toolchain, ToolchainError, load_toolchain

STATS_KEY = pytest.StashKey[BuildStats]()
PRELOADED = pytest.StashKey[Toolchain]()
RECORD_UPDATES = pytest.StashKey[dict[str, list[float]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    if settings.is_enabled(config):
        workers = config.getini("wyn_workers") or os.environ.get("PYTEST_WYN_WORKERS") or "12"
        parallel.choose_workers(config, workers, lambda: forecast_misses(config, PRELOADED))
    return (yield)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    return parallel.auto_workers(config)


def pytest_configure(config: pytest.Config) -> None:
    spaced = mistakes.spaced_value_option(config.invocation_params.args, config.invocation_params.dir)
    if spaced is not None:
        option, value = spaced
        raise pytest.UsageError(
            f"pytest-wyn: write {option}={value} (with '='). With a space, pytest takes {value} for a test "
            "path while it looks for the rootdir and the config file, before it knows this option."
        )
    if not settings.is_enabled(config):
        return
    config.addinivalue_line("markers", "wyn: a test from a .wyn file (added by pytest-wyn)")
    opts = settings.read(config)
    session = WynSession(opts, config.rootpath)
    config.stash[SESSION_KEY] = session
    config.stash[STATS_KEY] = BuildStats()
    config.stash[RECORD_UPDATES] = {}
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and "wyn" in worker_input:
        _configure_worker(session, worker_input["wyn"])
        return
    if opts.update is not None:
        config.pluginmanager.register(UpdateLog(), "wyn-update-log")
    if config.option.collectonly:
        return  # collection never compiles: no compiler needed
    try:
        session.toolchain = config.stash.get(PRELOADED, None) or load_toolchain(
            opts.compiler_option, opts.compiler_ini, opts.compiler_env, config.rootpath
        )
        session.command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    except ToolchainError as exc:
        raise pytest.UsageError(f"pytest-wyn: {exc}") from None
    _open_store(session)
    session.lock_dir, session.lock_problem = shared_lock_dir()
    sweep_run_dirs()
    cache = getattr(config, "cache", None)
    if cache is not None:
        record = cache.get(parallel.RECORD_KEY, {})
        session.order = parallel.file_priorities(record if isinstance(record, dict) else {}, config.rootpath)


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
        store.sweep_staging()
    except CacheDirError as exc:
        raise pytest.UsageError(f"pytest-wyn: refusing the cache directory: {exc}") from None
    except OSError as exc:
        session.cache_problem = f"{opts.cache_dir} is not writable ({exc.strerror or exc}); running without the cache"
        return
    session.store = store
    session.store_ok = True


def _configure_worker(session: WynSession, data: dict[str, Any]) -> None:
    session.toolchain = Toolchain.from_json(data["toolchain"])
    session.command = CompileCommand.parse(
        session.settings.compile_command, list(session.settings.compile_args), session.settings.compile_output
    )
    session.cache_problem = data["cache_problem"]
    session.lock_dir = Path(data["lock_dir"]) if data["lock_dir"] else None
    if data["store"]:
        session.store = Store(Path(data["store"]))
        session.store_ok = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    config = node.config
    if SESSION_KEY not in config.stash:
        return
    session = get_session(config)
    if session.toolchain is None:
        return
    node.workerinput["wyn"] = {
        "toolchain": session.toolchain.to_json(),
        "store": str(session.store.root) if session.store_ok and session.store else "",
        "cache_problem": session.cache_problem,
        "lock_dir": str(session.lock_dir or ""),
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if SESSION_KEY in config.stash and not hasattr(config, "workerinput"):
        wyn = get_session(config)
        if wyn.cache_problem and "disabled" not in wyn.cache_problem:
            config.issue_config_time_warning(WynWarning(f"pytest-wyn cache: {wyn.cache_problem}"), stacklevel=2)
        if wyn.lock_problem and wyn.toolchain is not None:
            message = f"pytest-wyn: {wyn.lock_problem}; concurrent builds of one file may collide"
            config.issue_config_time_warning(WynWarning(message), stacklevel=2)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> WynFile | None:
    config = parent.config
    if file_path.suffix != ".wyn" or SESSION_KEY not in config.stash:
        return None
    if not parent.session.isinitpath(file_path):
        patterns = get_session(config).settings.files
        if not any(fnmatch.fnmatch(file_path.name, p) or fnmatch.fnmatch(str(file_path), p) for p in patterns):
            return None
    return WynFile.from_parent(parent, path=file_path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Our scheduler only where we chose the distribution; collection order is never changed."""
    if SESSION_KEY not in config.stash or not config.stash.get(parallel.OWN_SCHEDULER, False):
        return None
    if config.getvalue("dist") != "load":
        return None
    from .schedule import WynScheduling  # imports xdist: only on a controller that has it

    return WynScheduling(config, log, get_session(config).order)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if SESSION_KEY not in config.stash:
        return None
    session = get_session(config)
    if session.toolchain is None:
        return ["wyn: collection only (no compiler needed)"]
    tc = session.toolchain
    lines = [f"wyn: {tc.path} ({tc.version}; found by {tc.found_by})"]
    if session.store_ok and session.store is not None:
        lines.append(f"wyn cache: {session.store.root}")
    else:
        lines.append(f"wyn cache: {session.cache_problem}")
    return lines


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if SESSION_KEY not in config.stash:
        return
    wyn = get_session(config)
    builder = wyn.started_builder
    stats = config.stash[STATS_KEY]
    updates = config.stash[RECORD_UPDATES]
    if builder is not None:
        stats.add(asdict(builder.stats))
        updates.update(builder.records)
        builder.close()
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None:
        worker_output["wyn_stats"] = asdict(stats)
        worker_output["wyn_records"] = updates
        return
    cache = getattr(config, "cache", None)
    if updates and cache is not None:
        record = cache.get(parallel.RECORD_KEY, {})
        if not isinstance(record, dict):
            record = {}
        record.update(updates)
        cache.set(parallel.RECORD_KEY, record)
    if wyn.store_ok and wyn.store is not None:
        try:
            wyn.store.evict(wyn.settings.cache_max_size)
        except OSError:
            pass


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    config = node.config
    if SESSION_KEY not in config.stash:
        return
    output = getattr(node, "workeroutput", None) or {}
    config.stash[STATS_KEY].add(output.get("wyn_stats", {}))
    config.stash[RECORD_UPDATES].update(output.get("wyn_records", {}))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "call" and isinstance(item, WynItem) and item.wyn_update:
        report.wyn_update = item.wyn_update  # travels with the report, through xdist too
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and report.passed and _update_of(report):
        return "passed", "U", ("UPDATED", {"green": True})
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if SESSION_KEY not in config.stash:
        if exitstatus in (pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR):
            found = mistakes.wyn_file_hint(
                config.args, config.invocation_params.dir, settings.DEFAULT_FILES, config.getini("norecursedirs")
            )
            if found is not None:
                terminalreporter.write_line(
                    f"pytest-wyn: {found} is a Wyn test file, but pytest-wyn is off: "
                    "run `pytest --wyn`, or add `wyn = true` to your pytest configuration",
                    yellow=True,
                )
        return
    if hasattr(config, "workerinput"):
        return
    stats = config.stash[STATS_KEY]
    if not (stats.compiled or stats.hits):
        return
    tr = terminalreporter
    tr.section("wyn", sep="-", bold=False)
    files = int(stats.compiled - stats.retries)
    line = (
        f"compiled {files} file(s) in {stats.compile_seconds:.1f} s, "
        f"{int(stats.hits)} from the cache (saved {stats.saved_seconds:.1f} s of compiling)"
    )
    if stats.retries:
        line += f", {int(stats.retries)} build(s) retried for host reasons"
    tr.write_line(line)



def _update_of(report: pytest.TestReport) -> str:
    return str(getattr(report, "wyn_update", "") or "")


class UpdateLog:
    """``--wyn-update``'s summary, as syrupy's --snapshot-update reports: every diff, then one line.

    Registered on the controller (or the only process) when updating; the
    diffs reach it with the reports, from workers too.
    """

    def __init__(self) -> None:
        self.diffs: dict[str, str] = {}  # file nodeid -> diff

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        diff = _update_of(report)
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
