"""Before any worker starts: how many of the files this run will collect must be compiled.

The controller decides the worker count from it (see parallel.choose_workers);
it uses the same key as the cache, computed from the files on disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import parallel, settings
from .cache import KeyInputs, Store, compute_key
from .spec import SpecError, read_source
from .toolchain import CompileCommand, Toolchain, ToolchainError, load_toolchain


def forecast_misses(config: pytest.Config, preloaded: pytest.StashKey[Toolchain]) -> int | None:
    """How many of the files this run will collect are not in the cache (None: cannot tell)."""
    try:
        opts = settings.read(config)
        toolchain = load_toolchain(opts.compiler_option, opts.compiler_ini, opts.compiler_env, config.rootpath)
        command = CompileCommand.parse(opts.compile_command, list(opts.compile_args), opts.compile_output)
    except (pytest.UsageError, ToolchainError):
        return None  # pytest_configure reports it
    config.stash[preloaded] = toolchain  # pytest_configure reuses it
    roots = [Path(config.invocation_params.dir, arg.split("::", 1)[0]) for arg in config.args]
    ignored = [Path(config.invocation_params.dir, p) for p in (config.getoption("ignore") or [])]
    files = list(parallel.discover(roots, opts.files, config.getini("norecursedirs"), ignored))
    if not opts.use_cache or opts.clear_cache:
        return len(files)
    store = Store(opts.cache_dir)
    builder_inputs = KeyInputs.current(toolchain, command, config.rootpath)
    misses = 0
    for path in files:
        try:
            arg = str(path.resolve().relative_to(config.rootpath))
        except ValueError:
            arg = str(path.resolve())
        try:
            key = compute_key(builder_inputs, arg, read_source(path))
        except SpecError:
            continue  # becomes an erroring item, never a compile
        except OSError:
            misses += 1
            continue
        if not store.has(key):
            misses += 1
    return misses
