"""Before any worker starts: which files this run will run, and which it will have to compile.

The controller decides the worker count from it (see parallel.choose_workers);
it uses the same key as the cache, computed from the files on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .. import options
from ..engine import (
    CompileCommand,
    KeyInputs,
    NoCompilerFound,
    Settings,
    SpecError,
    Store,
    Toolchain,
    ToolchainError,
    compile_arg,
    compute_key,
    decode,
    is_test_file,
    load_toolchain,
    parse,
    read_source,
    skipped_whole,
    wyn_path,
)
from ..startup import open_remote
from .selection import Selection

FORECAST = pytest.StashKey["Forecast | None"]()  # made once per session (the worker plan, or fetching ahead)


@dataclass(frozen=True)
class Forecast:
    files: list[str]  # file nodeids (paths from the rootdir) this run will run, in no special order
    misses: set[str]  # those of them that are not in the cache
    fetched: int = 0  # files the shared cache supplied before the plan


def forecast(config: pytest.Config, preloaded: pytest.StashKey[Toolchain]) -> Forecast | None:
    """``forecast_now``, once per session."""
    if FORECAST not in config.stash:
        config.stash[FORECAST] = forecast_now(config, preloaded)
    return config.stash[FORECAST]


def forecast_now(config: pytest.Config, preloaded: pytest.StashKey[Toolchain]) -> Forecast | None:
    """Which files this run will run, and which of them it will compile (None: cannot tell).

    With a shared cache, the files the local cache lacks are fetched first
    (concurrently), so they count as hits: a fetched file is not a miss.

    Counts a file only if the command line selects one of its items (``-k``,
    ``-m``, ``--deselect``, ``--ignore``/``--ignore-glob``, ``collect_ignore``,
    ``norecursedirs``), and it is not skipped as a whole.
    """
    try:
        opts = options.read(config)
        toolchain = load_toolchain(opts.compiler_option, opts.compiler_ini, opts.compiler_env, config.rootpath)
        command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    except (pytest.UsageError, ToolchainError, NoCompilerFound):
        return None  # pytest_configure reports it
    config.stash[preloaded] = toolchain  # pytest_configure reuses it
    use_store = opts.use_cache and not opts.clear_cache
    store = Store(opts.cache_dir)
    builder_inputs = KeyInputs.current(toolchain, command, config.rootpath)
    result = Forecast([], set())
    keys: dict[str, str] = {}
    for nodeid, real, data in planned_files(config, opts):
        result.files.append(nodeid)
        if data is None:
            result.misses.add(nodeid)  # unreadable now: the build will say why
            continue
        key = compute_key(builder_inputs, compile_arg(real, config.rootpath), data)
        if not use_store or not store.has(key):
            result.misses.add(nodeid)
            keys[nodeid] = key
    remote = open_remote(config, opts) if use_store and keys else None
    if remote is not None:
        fetched = remote.fetch_many(keys.values())
        arrived = {nodeid for nodeid, key in keys.items() if key in fetched}
        return Forecast(result.files, result.misses - arrived, len(arrived))
    return result


def planned_files(config: pytest.Config, opts: Settings) -> Iterator[tuple[str, Path, bytes | None]]:
    """Each Wyn test file this run will run: its nodeid, real path and bytes (None: unreadable).

    Counts a file only if the command line selects one of its items and it
    is not skipped as a whole; a file that does not parse is left out (it
    becomes an erroring item, never a compile).
    """
    roots = [Path(config.invocation_params.dir, arg.split("::", 1)[0]) for arg in config.args]
    found = {path.resolve(): path for path in discover(config, roots, opts.files)}
    selection = Selection.from_config(config, opts.known_failures)
    for real in found:
        try:
            nodeid = wyn_path(real.relative_to(config.rootpath))
        except ValueError:
            nodeid = str(real)
        try:
            data = read_source(real)
            spec = parse(decode(data)) if (not selection.everything or b"SKIP" in data) else None
        except SpecError:
            continue
        except OSError:
            yield nodeid, real, None
            continue
        if spec is not None and (skipped_whole(spec) or not selection.selects_any(nodeid, spec)):
            continue
        yield nodeid, real, data


EXPECTED = pytest.StashKey["list[str] | None"]()


def expected_wyn_files(config: pytest.Config, opts: Settings) -> list[str] | None:
    """The Wyn test files every worker should collect, or None when this machine cannot tell.

    It cannot when a plugin selects tests by what it remembers (``--lf``,
    ``--sw``): the forecast never knows those choices.
    """
    if EXPECTED not in config.stash:
        remembers = config.getoption("lf", False) or config.getoption("stepwise", False)
        config.stash[EXPECTED] = None if remembers else [nodeid for nodeid, _, _ in planned_files(config, opts)]
    return config.stash[EXPECTED]




def discover(config: pytest.Config, roots: list[Path], patterns: tuple[str, ...]) -> Iterator[Path]:
    """The .wyn test files under roots, as pytest will collect them (for forecasts only).

    Directories and files are offered to pytest's own ``pytest_ignore_collect``
    (``--ignore``, ``--ignore-glob``, ``collect_ignore``, ``norecursedirs``).
    """
    ignored = config.hook.pytest_ignore_collect
    for root in roots:
        if root.is_file():
            if is_test_file(root, patterns, named=True):
                yield root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if not ignored(collection_path=here / d, config=config)]
            for name in filenames:
                path = here / name
                regular = is_test_file(path, patterns) and path.is_file()  # regular files only, as pytest's
                if regular and not ignored(collection_path=path, config=config):
                    yield path
