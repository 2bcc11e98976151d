"""Parallel by default, through xdist's own options.

The defaults are set on ``config.option`` before xdist reads them, so every
usual escape (``-n 0``, ``-p no:xdist``, ``--pdb``, ``--collect-only``, worker
processes, an IDE's ``PYTEST_XDIST_AUTO_NUM_WORKERS``) keeps working.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .settings import DEFAULT_WORKERS, is_enabled

DEFAULTED = pytest.StashKey[int]()
OWN_SCHEDULER = pytest.StashKey[bool]()
RECORD_KEY = "wyn/files"


def choose_workers(config: pytest.Config, workers_setting: str, misses: Callable[[], int | None]) -> None:
    """Called before xdist's own pytest_cmdline_main.

    ``misses`` predicts how many files will need compiling: a worker costs
    about half a second of CPU to start and collect, so a run the cache will
    serve whole runs serially and a few misses start only as many workers.
    """
    if not is_enabled(config) or not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    opt = config.option
    if opt.dist != "no" or getattr(opt, "distload", False):
        return  # the user chose a distribution: theirs, unchanged, and no default workers
    config.stash[OWN_SCHEDULER] = True  # see schedule.WynScheduling: Wyn files whole, the rest as --dist load
    if opt.numprocesses is not None or getattr(opt, "tx", None) or opt.usepdb or opt.collectonly:
        return
    wanted = _parse_workers(workers_setting)
    named = _named_wyn_files(config.args, config.invocation_params.dir)
    if named is not None:
        if named <= 1:
            return
        wanted = min(wanted, named) if wanted > 0 else named
    predicted = misses()
    if predicted is not None:
        if predicted <= 1:
            return
        wanted = min(wanted, predicted) if wanted > 0 else min(os.cpu_count() or 1, predicted)
    config.stash[DEFAULTED] = wanted
    opt.numprocesses = "auto"  # resolved by pytest_xdist_auto_num_workers below


def _parse_workers(text: str) -> int:
    if text.strip() == "auto":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"wyn_workers must be a number or auto, not {text!r}") from None
    return max(value, 0) or DEFAULT_WORKERS


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
        if not path.endswith(".wyn"):
            return None
        full = Path(path) if os.path.isabs(path) else cwd / path
        if full.is_dir():
            return None
        files.add(str(full))
    return len(files) if files else None


def discover(config: pytest.Config, roots: list[Path], patterns: tuple[str, ...]) -> Iterator[Path]:
    """The .wyn test files under roots, as pytest will collect them (for forecasts only).

    Directories and files are offered to pytest's own ``pytest_ignore_collect``
    (``--ignore``, ``--ignore-glob``, ``collect_ignore``, ``norecursedirs``).
    """
    ignored = config.hook.pytest_ignore_collect
    for root in roots:
        if root.is_file():
            if root.suffix == ".wyn":
                yield root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if not ignored(collection_path=here / d, config=config)]
            for name in filenames:
                if name.endswith(".wyn") and any(fnmatch.fnmatch(name, pat) for pat in patterns):
                    path = here / name
                    if path.is_file() and not ignored(collection_path=path, config=config):  # regular files only
                        yield path


def file_priorities(record: dict[str, list[float]], root: Path) -> dict[str, list[float]]:
    """Per file nodeid: [predicted compile seconds, 1.0 if probably a cache miss].

    Computed once by the controller and sent to every worker, so that all
    workers sort identically whatever happens to the files meanwhile.
    """
    out: dict[str, list[float]] = {}
    for nodeid, fields in record.items():
        try:
            seconds, mtime_ns, size = float(fields[0]), int(fields[1]), int(fields[2])
            st = (root / nodeid).stat()
        except (OSError, ValueError, TypeError, IndexError):
            continue
        changed = st.st_mtime_ns != mtime_ns or st.st_size != size
        out[nodeid] = [seconds, 1.0 if changed else 0.0]
    return out
