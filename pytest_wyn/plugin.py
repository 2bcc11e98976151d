"""pytest-wyn's entry point: options, the worker decision, and switching the plugin objects on.

Everything else happens in the objects of ``hooks.py``, registered here only
where their role exists (the plugin on; the xdist controller; --wyn-update).
A session without Wyn tests (a Python-only project with pytest-wyn installed)
imports only the settings: the engine, the workers and the hooks are imported
when Wyn is on (``tests/bench/overhead_bench.py`` measures what is left).
"""

from __future__ import annotations

from typing import Any

import pytest

from . import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    if options.is_enabled(config):
        from .startup import PRELOADED
        from .workers import parallel
        from .workers.forecast import forecast

        parallel.choose_workers(config, lambda: forecast(config, PRELOADED))
    return (yield)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if not options.is_enabled(config):
        return None  # xdist decides: pytest-wyn has no say in a session without Wyn tests
    from .workers import parallel

    return parallel.auto_workers(config)


def pytest_configure(config: pytest.Config) -> None:
    from . import mistakes

    spaced = mistakes.spaced_value_option(config.invocation_params.args, config.invocation_params.dir)
    if spaced is not None:
        option, value = spaced
        raise pytest.UsageError(
            f"pytest-wyn: write {option}={value} (with '='). With a space, pytest takes {value} for a test "
            "path while it looks for the rootdir and the config file, before it knows this option."
        )
    if not options.is_enabled(config):
        config.pluginmanager.register(mistakes.OffHint(), "wyn-off-hint")
        return
    from .hooks import UpdateLog, WynPlugin, XdistController
    from .startup import PRELOADED, start
    from .workers import hosts, parallel
    from .workers.forecast import forecast

    config.addinivalue_line("markers", "wyn: a test from a .wyn file (added by pytest-wyn)")
    opts = options.for_this_process(config)
    elsewhere = hosts.only_elsewhere(config)
    engine, report = start(config, opts, elsewhere, runs_tests=not parallel.distributes(config))
    config.pluginmanager.register(WynPlugin(config, engine, report), "wyn-session")
    if hasattr(config, "workerinput"):
        return
    if engine.remote is not None:  # (None when every worker is on another machine: they fetch for themselves)
        forecast(config, PRELOADED)  # fetches ahead, if the worker plan has not already
    if parallel.xdist_loaded(config):
        own = config.stash.get(parallel.OWN_SCHEDULER, False)
        config.pluginmanager.register(XdistController(config, engine, report, own), "wyn-xdist-controller")
    if opts.update is not None:
        config.pluginmanager.register(UpdateLog(), "wyn-update-log")
