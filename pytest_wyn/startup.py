"""Loading the engine at configure: the pytest side of ``engine.session.load``.

What ``load`` needs from pytest: the worker's payload (``workerinput``), the
toolchain the worker plan loaded (``PRELOADED``), ``--collect-only``, the
shared cache opened once per session (``open_remote``) and the scheduling
record in pytest's cache. ``plugin.py`` calls ``start`` and hands the results
to the plugin objects.
"""

from __future__ import annotations

import pytest

from .engine import (
    Engine,
    Record,
    RemoteCache,
    SessionReport,
    Settings,
    Toolchain,
    UsageError,
    WorkerPayload,
    load,
    open_shared_cache,
)

PRELOADED = pytest.StashKey[Toolchain]()  # the forecast loads the toolchain first; configure reuses it


def sent_payload(config: pytest.Config) -> WorkerPayload | None:
    """In an xdist worker: what its controller sent (None in the controller, or without one)."""
    data = getattr(config, "workerinput", {}).get("wyn")
    return WorkerPayload.from_serialized(data) if data is not None else None


def start(
    config: pytest.Config, opts: Settings, workers_elsewhere: bool = False, runs_tests: bool = True
) -> tuple[Engine, SessionReport]:
    """Everything a session needs before collection (``engine.session.load``); a usage error stops it."""
    try:
        return load(
            opts,
            config.rootpath,
            sent_payload(config),
            preloaded=config.stash.get(PRELOADED, None),
            collect_only=bool(config.option.collectonly),
            workers_elsewhere=workers_elsewhere,
            runs_tests=runs_tests,
            open_remote=lambda: open_remote(config, opts),
            load_record=lambda: Record.load(getattr(config, "cache", None)),
        )
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


REMOTE = pytest.StashKey["RemoteCache | None"]()  # made once per session, by the forecast or by start


def open_remote(config: pytest.Config, opts: Settings) -> RemoteCache | None:
    """The controller's (or only process's) remote tier: made once, by whichever asks first.

    The forecast asks first when it runs (it fetches ahead, before the worker plan);
    ``start`` reuses it. None without a remote, or without a usable local cache to feed.
    """
    if REMOTE not in config.stash:
        config.stash[REMOTE] = open_shared_cache(opts)
    return config.stash[REMOTE]
