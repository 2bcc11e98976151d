"""The engine's front door: every name the pytest side uses, and the only way it reaches the engine.

The engine turns a `.wyn` file into verdicts without pytest: reading the file,
the toolchain and its output formats, dependencies and the cache key, the
store, compiling and building, processes and their limits, judging, the
`--wyn-update` rewrite, one file's run, run-ahead, the cost record, and the
session's state (``Engine``, ``SessionReport``). It imports neither pytest nor
anything above it (tests/unit/test_layers.py); the pytest side imports it only
from here (tests/unit/test_front_door.py), and ``docs/architecture.md`` says
what each group is for.

A name loads its module on first use (``__getattr__``, as the standard
library's ``concurrent.futures`` loads its executors): a session without Wyn
tests reads the settings table's defaults from here and never loads the rest
(``tests/bench/overhead_bench.py``). ``_HOMES`` says where each name lives;
the imports under ``TYPE_CHECKING`` say the same for the type checker, and
tests/unit/test_front_door.py keeps the two equal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names of _HOMES, for the type checker (`X as X`: re-exported)
    from .build import BuildStats as BuildStats
    from .cache import Store as Store
    from .defaults import (
        BOOL_ACCEPTED as BOOL_ACCEPTED,
        BOOL_WORDS as BOOL_WORDS,
        DEFAULT_CACHE_SIZE as DEFAULT_CACHE_SIZE,
        DEFAULT_COMPILE_TIMEOUT as DEFAULT_COMPILE_TIMEOUT,
        DEFAULT_FILES as DEFAULT_FILES,
        DEFAULT_MEMORY_LIMIT as DEFAULT_MEMORY_LIMIT,
        DEFAULT_OUTPUT_LIMIT as DEFAULT_OUTPUT_LIMIT,
        DEFAULT_RETRIES as DEFAULT_RETRIES,
        DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
        DEFAULT_WORKERS as DEFAULT_WORKERS,
        MAX_SECONDS as MAX_SECONDS,
        SettingError as SettingError,
        default_compile_jobs as default_compile_jobs,
        parse_bool as parse_bool,
        parse_number as parse_number,
        parse_size as parse_size,
        usable_cpus as usable_cpus,
        user_cache_root as user_cache_root,
    )
    from .deps import module_deps as module_deps, others_can_write as others_can_write
    from .digest import sha256_bytes as sha256_bytes
    from .errors import HostError as HostError, TestError as TestError, UsageError as UsageError, WynError as WynError
    from .formats import shows_source as shows_source
    from .golden import compare_golden as compare_golden
    from .hostpaths import compile_arg as compile_arg, wyn_path as wyn_path
    from .inflight import InFlight as InFlight
    from .judge import interrupted_verdict as interrupted_verdict, not_run_verdict as not_run_verdict
    from .key import KeyInputs as KeyInputs, compute_key as compute_key
    from .knownfail import read_lists as read_lists
    from .process import MEMORY_LIMIT_WORKS as MEMORY_LIMIT_WORKS
    from .record import (
        DEFAULT_COMPILE_SECONDS as DEFAULT_COMPILE_SECONDS,
        DEFAULT_RUN_SECONDS as DEFAULT_RUN_SECONDS,
        FileCosts as FileCosts,
        Record as Record,
        read_worker_startup as read_worker_startup,
        save_worker_startup as save_worker_startup,
    )
    from .remote.address import (
        CONNECT_TIMEOUT as CONNECT_TIMEOUT,
        DEFAULT_REMOTE_TIMEOUT as DEFAULT_REMOTE_TIMEOUT,
        SCHEMES as SCHEMES,
        redact as redact,
        scheme_of as scheme_of,
        with_lower_scheme as with_lower_scheme,
    )
    from .remote.config import RemoteConfig as RemoteConfig
    from .remote.tier import RemoteCache as RemoteCache, RemoteStats as RemoteStats
    from .report import source_excerpt as source_excerpt
    from .results import BuildResult as BuildResult, FileOutcome as FileOutcome, Verdict as Verdict
    from .runahead import LANES_PER_CORE as LANES_PER_CORE, RunAhead as RunAhead
    from .runner import FileRun as FileRun, FileTools as FileTools
    from .sections import item_sections as item_sections
    from .session import (
        Engine as Engine,
        Loop as Loop,
        SessionReport as SessionReport,
        WorkerPayload as WorkerPayload,
        finish as finish,
        load as load,
        open_shared_cache as open_shared_cache,
        payload as payload,
        toolchain_mismatch as toolchain_mismatch,
    )
    from .settings import Settings as Settings, UpdateMode as UpdateMode
    from .spec import (
        Block as Block,
        Spec as Spec,
        SpecError as SpecError,
        decode as decode,
        parse as parse,
        read_source as read_source,
    )
    from .testfile import (
        TestKind as TestKind,
        file_stem as file_stem,
        is_snapshot_test as is_snapshot_test,
        is_test_file as is_test_file,
        is_wyn_file as is_wyn_file,
        marks_of as marks_of,
        planned_tests as planned_tests,
        skipped_whole as skipped_whole,
        snapshot_of as snapshot_of,
    )
    from .toolchain import (
        CompileCommand as CompileCommand,
        NoCompilerFound as NoCompilerFound,
        Toolchain as Toolchain,
        ToolchainError as ToolchainError,
        load_toolchain as load_toolchain,
    )
    from .update import (
        UpdateRefused as UpdateRefused,
        writable_target as writable_target,
        write_in_place as write_in_place,
    )

# Where each name lives: its module, imported on the name's first use.
_HOMES: dict[str, str] = {
    # The settings: what the pytest side reads and the engine takes (options.py, settings_table.py).
    **dict.fromkeys(["HostError", "TestError", "UsageError", "WynError"], "errors"),
    **dict.fromkeys(["read_lists"], "knownfail"),
    **dict.fromkeys(
        ["CONNECT_TIMEOUT", "DEFAULT_REMOTE_TIMEOUT", "SCHEMES", "redact", "scheme_of", "with_lower_scheme"],
        "remote.address",
    ),
    **dict.fromkeys(["RemoteConfig"], "remote.config"),
    **dict.fromkeys(
        [
            "BOOL_ACCEPTED",
            "BOOL_WORDS",
            "DEFAULT_CACHE_SIZE",
            "DEFAULT_COMPILE_TIMEOUT",
            "DEFAULT_FILES",
            "DEFAULT_MEMORY_LIMIT",
            "DEFAULT_OUTPUT_LIMIT",
            "DEFAULT_RETRIES",
            "DEFAULT_TIMEOUT",
            "DEFAULT_WORKERS",
            "MAX_SECONDS",
            "SettingError",
            "default_compile_jobs",
            "parse_bool",
            "parse_number",
            "parse_size",
            "usable_cpus",
            "user_cache_root",
        ],
        "defaults",
    ),
    **dict.fromkeys(["Settings", "UpdateMode"], "settings"),
    # The session's state, loaded once (startup.py), and what the plugin objects hand on (hooks.py).
    **dict.fromkeys(["BuildStats"], "build"),
    **dict.fromkeys(["InFlight"], "inflight"),
    **dict.fromkeys(["MEMORY_LIMIT_WORKS"], "process"),
    **dict.fromkeys(
        [
            "DEFAULT_COMPILE_SECONDS",
            "DEFAULT_RUN_SECONDS",
            "FileCosts",
            "Record",
            "read_worker_startup",
            "save_worker_startup",
        ],
        "record",
    ),
    **dict.fromkeys(["RemoteCache", "RemoteStats"], "remote.tier"),
    **dict.fromkeys(["LANES_PER_CORE", "RunAhead"], "runahead"),
    **dict.fromkeys(
        [
            "Engine",
            "Loop",
            "SessionReport",
            "WorkerPayload",
            "finish",
            "load",
            "open_shared_cache",
            "payload",
            "toolchain_mismatch",
        ],
        "session",
    ),
    **dict.fromkeys(
        ["CompileCommand", "NoCompilerFound", "Toolchain", "ToolchainError", "load_toolchain"], "toolchain"
    ),
    # Test files: finding them, reading them, their tests and markers (items.py, workers/).
    **dict.fromkeys(["Block", "Spec", "SpecError", "decode", "parse", "read_source"], "spec"),
    **dict.fromkeys(
        [
            "TestKind",
            "file_stem",
            "is_snapshot_test",
            "is_test_file",
            "is_wyn_file",
            "marks_of",
            "planned_tests",
            "skipped_whole",
            "snapshot_of",
        ],
        "testfile",
    ),
    # One file's run and what it reports (items.py, snapshots.py).
    **dict.fromkeys(["module_deps", "others_can_write"], "deps"),
    **dict.fromkeys(["sha256_bytes"], "digest"),
    **dict.fromkeys(["shows_source"], "formats"),
    **dict.fromkeys(["compare_golden"], "golden"),
    **dict.fromkeys(["interrupted_verdict", "not_run_verdict"], "judge"),
    **dict.fromkeys(["source_excerpt"], "report"),
    **dict.fromkeys(["BuildResult", "FileOutcome", "Verdict"], "results"),
    **dict.fromkeys(["FileRun", "FileTools"], "runner"),
    **dict.fromkeys(["item_sections"], "sections"),
    **dict.fromkeys(["UpdateRefused", "writable_target", "write_in_place"], "update"),
    # The forecast's cache keys: the builder's own (workers/forecast.py).
    **dict.fromkeys(["Store"], "cache"),
    **dict.fromkeys(["compile_arg", "wyn_path"], "hostpaths"),
    **dict.fromkeys(["KeyInputs", "compute_key"], "key"),
}


def __getattr__(name: str) -> Any:
    """A front-door name, from its module (imported now, the first time)."""
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not kept here: the module's own object every time, even after a module was loaded again (pytester's
    # in-process runs unload what they loaded, and the next use loads it afresh).
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
