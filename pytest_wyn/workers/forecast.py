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
from ..engine.cache import Store
from ..engine.key import KeyInputs, compute_key
from ..engine.spec import SpecError, decode, parse, read_source
from ..engine.testfile import is_test_file
from ..engine.toolchain import CompileCommand, NoCompilerFound, Toolchain, ToolchainError, load_toolchain
from .selection import Selection, skipped_whole


@dataclass(frozen=True)
class Forecast:
    files: list[str]  # file nodeids (paths from the rootdir) this run will run, in no special order
    misses: set[str]  # those of them that are not in the cache


def forecast(config: pytest.Config, preloaded: pytest.StashKey[Toolchain]) -> Forecast | None:
    """Which files this run will run, and which of them it will compile (None: cannot tell).

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
    roots = [Path(config.invocation_params.dir, arg.split("::", 1)[0]) for arg in config.args]
    found = {path.resolve(): path for path in discover(config, roots, opts.files)}
    selection = Selection.from_config(config)
    use_store = opts.use_cache and not opts.clear_cache
    store = Store(opts.cache_dir)
    builder_inputs = KeyInputs.current(toolchain, command, config.rootpath)
    result = Forecast([], set())
    for real in found:
        try:
            nodeid = str(real.relative_to(config.rootpath))
        except ValueError:
            nodeid = str(real)
        try:
            data = read_source(real)
            spec = parse(decode(data)) if (not selection.everything or b"SKIP" in data) else None
        except SpecError:
            continue  # becomes an erroring item, never a compile
        except OSError:
            result.files.append(nodeid)
            result.misses.add(nodeid)
            continue
        if spec is not None and (skipped_whole(spec) or not selection.selects_any(nodeid, spec)):
            continue
        result.files.append(nodeid)
        if not use_store or not store.has(compute_key(builder_inputs, nodeid, data)):
            result.misses.add(nodeid)
    return result


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
