"""Parallel by default, through xdist's own options.

The defaults are set on ``config.option`` before xdist reads them, so every
usual escape (``-n 0``, ``-p no:xdist``, ``--pdb``, ``--collect-only``, worker
processes, an IDE's ``PYTEST_XDIST_AUTO_NUM_WORKERS``) keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .. import options
from ..compat import EarlyCache
from ..engine import Record, is_wyn_file, read_worker_startup, usable_cpus
from .plan import DEFAULT_WORKER_STARTUP, plan_workers, work_of

if TYPE_CHECKING:
    from .forecast import Forecast

DEFAULTED = pytest.StashKey[int]()  # the worker count we chose, for pytest_xdist_auto_num_workers
OWN_SCHEDULER = pytest.StashKey[bool]()  # the user chose no --dist: WynScheduling distributes
RUN_AHEAD_ALLOWED = pytest.StashKey[bool]()  # nothing the user said asks for strictly serial runs


def choose_workers(config: pytest.Config, forecast: Callable[[], Forecast | None]) -> None:
    """Called before xdist's own pytest_cmdline_main: our default, where the user gave none.

    The count is the one with the least predicted wall time (plan.py), from
    what the forecast says will run and compile and what the record says each
    file cost; files that will not compile cost only their runs.
    """
    if hasattr(config, "workerinput"):
        return
    opts = options.read(config)
    opt = config.option
    has_xdist = xdist_loaded(config)
    user_serial = (
        (has_xdist and opt.numprocesses is not None)
        or not has_xdist  # -p no:xdist: strictly serial
        or opt.usepdb
        or getattr(opt, "trace", False)
        or opt.capture == "no"
        or opt.collectonly
    )
    config.stash[RUN_AHEAD_ALLOWED] = opts.run_ahead and not user_serial
    if not has_xdist:
        return
    if opt.dist != "no":
        return  # the user chose a distribution (--dist): theirs, unchanged, and no default workers
    # -d (which --tx gateways need) asks only that the load be distributed: ours, a file whole on one worker.
    config.stash[OWN_SCHEDULER] = True  # see schedule.WynScheduling: Wyn files whole, the rest as --dist load
    if opt.numprocesses is not None or getattr(opt, "tx", None) or opt.usepdb or opt.collectonly:
        return
    if _coverage_in_one_process(config):
        return  # workers started now would break it: files run ahead in this process instead
    ceiling = usable_cpus() if opts.workers == "auto" else opts.workers
    predicted = forecast()
    if predicted is None:
        return  # no compiler: pytest_configure says so
    named = _named_wyn_files(config.args, config.invocation_params.dir)
    if named is not None:
        ceiling = min(ceiling, named)
    early = EarlyCache(config)  # pytest's cache plugin is not configured yet
    costs = Record.load(early).files
    work = work_of(predicted.files, predicted.misses, costs)
    startup = read_worker_startup(early) or DEFAULT_WORKER_STARTUP  # measured here last time, if ever
    workers = plan_workers(work, usable_cpus(), ceiling, opts.run_ahead, startup)
    if workers:
        config.stash[DEFAULTED] = workers
        opt.numprocesses = "auto"  # resolved by pytest_xdist_auto_num_workers below


def distributes(config: pytest.Config) -> bool:
    """This process is an xdist controller: its workers run the tests (it compiles and runs nothing)."""
    if hasattr(config, "workerinput") or not xdist_loaded(config):
        return False
    return getattr(config.option, "dist", "no") != "no" and bool(getattr(config.option, "tx", None))


def _coverage_in_one_process(config: pytest.Config) -> bool:
    """pytest-cov measures this run and has already chosen to do it in one process.

    It decides when the initial conftests load, before pytest-wyn can choose
    workers; workers started later would reach a single-process coverage
    plugin (``'Central' object has no attribute 'configure_node'``).
    """
    cov = config.pluginmanager.get_plugin("_cov")
    return cov is not None and not getattr(cov, "_disabled", False)


def xdist_loaded(config: pytest.Config) -> bool:
    """pytest-xdist is on: by its entry point, or by ``-p xdist.plugin`` (with PYTEST_DISABLE_PLUGIN_AUTOLOAD)."""
    return any(config.pluginmanager.hasplugin(name) for name in ("xdist", "xdist.plugin"))


def auto_workers(config: pytest.Config) -> int | None:
    """Our default worker count, unless the user or an IDE asked otherwise."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # let xdist honour it (VS Code caps it to the selected tests)
    wanted = config.stash.get(DEFAULTED, None)
    if not wanted:
        return None
    return wanted


def _named_wyn_files(args: list[str], cwd: Path) -> int | None:
    """How many .wyn files the command line names, if it names only .wyn files."""
    files = set()
    for arg in args:
        path = arg.split("::", 1)[0]
        if not is_wyn_file(path):
            return None
        full = Path(path) if os.path.isabs(path) else cwd / path
        if full.is_dir():
            return None
        files.add(str(full))
    return len(files) if files else None
