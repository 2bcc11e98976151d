"""Every user setting, each with one name in the ini file, on the command line
and (where useful) in the environment: read once per session into the engine's
``Settings``. Precedence: command line, then environment, then ini, then default.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any, Literal

import platformdirs
import pytest

from .engine.remote.config import DEFAULT_REMOTE_TIMEOUT, RemoteConfig
from .engine.settings import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_COMPILE_TIMEOUT,
    DEFAULT_FILES,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    Settings,
    parse_size,
    usable_cpus,
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("wyn", "Wyn tests (pytest-wyn)")
    group.addoption("--wyn", action="store_true", default=False, help="collect and run .wyn test files")
    group.addoption(
        "--wyn-compiler", metavar="PATH", help="the Wyn compiler (default: ini wyn_compiler, $WYN, ./wyn, wyn on PATH)"
    )
    group.addoption("--wyn-compile-args", metavar="ARGS", help="extra compiler arguments, e.g. '--release'")
    group.addoption(
        "--wyn-timeout", type=float, metavar="SECONDS", help=f"per-test run timeout (default {DEFAULT_TIMEOUT:g})"
    )
    group.addoption(
        "--wyn-compile-timeout",
        type=float,
        metavar="SECONDS",
        help=f"per-file compile timeout (default {DEFAULT_COMPILE_TIMEOUT:g})",
    )
    group.addoption(
        "--wyn-memory-limit",
        metavar="SIZE",
        help=f"address-space limit of each test binary, or 'none' (default {DEFAULT_MEMORY_LIMIT})",
    )
    group.addoption(
        "--wyn-no-run-ahead",
        action="store_true",
        default=False,
        help="run every binary only when its test's turn comes (see wyn_run_ahead)",
    )
    # A plain switch that never takes the next argument (`--wyn-update tests/x.wyn` updates that file);
    # `--wyn-update=all` and `=expect` are spelled whole, so argparse finds them before splitting at '='.
    group.addoption(
        "--wyn-update",
        action="store_const",
        const="expect",
        dest="wyn_update",
        help="rewrite failing EXPECT lines from the actual output; --wyn-update=all also pins passing "
        "program tests' output",
    )
    for mode in ("all", "expect"):
        group.addoption(
            f"--wyn-update={mode}", action="store_const", const=mode, dest="wyn_update", help=argparse.SUPPRESS
        )
    group.addoption("--wyn-cache-dir", metavar="DIR", help="compile cache directory (default: the user cache dir)")
    group.addoption(
        "--wyn-keep-binaries",
        action="store_true",
        default=False,
        help="keep each test binary in .pytest_cache/d/wyn-binaries and say how to run it again",
    )
    group.addoption("--wyn-files", metavar="PATTERNS", help="Wyn test file name patterns, space-separated (wyn_files)")
    group.addoption("--wyn-compile-jobs", metavar="N", help="compiles at once on this machine (default: CPUs)")
    group.addoption(
        "--wyn-workers",
        metavar="N",
        help=f"most xdist workers started by default: N or auto (default {DEFAULT_WORKERS})",
    )
    group.addoption("--wyn-max-output", metavar="SIZE", help="output kept per run, head + tail (default 4MiB)")
    group.addoption(
        "--wyn-no-cache", action="store_true", default=False, help="neither read nor write the compile cache"
    )
    group.addoption("--wyn-cache-clear", action="store_true", default=False, help="empty the compile cache first")
    group.addoption(
        "--wyn-remote-cache",
        metavar="URL",
        help="shared cache: http(s)://… or redis://… (wyn_remote_cache; README: Share the cache)",
    )
    group.addoption(
        "--wyn-no-remote-cache", action="store_true", default=False, help="neither read nor write the shared cache"
    )

    for name, kind, default, text in INI:
        parser.addini(name, type=kind, default=default, help=text)


# Each ini setting: name, type, default, help. Its --wyn-* option and PYTEST_WYN_* variable, where it
# has them, are read in ``read`` below; the README's configuration table lists all four.
INI: tuple[tuple[str, Literal["string", "args", "bool", "linelist"], Any, str], ...] = (
    ("wyn", "bool", False, "collect .wyn test files (as --wyn)"),
    ("wyn_files", "args", DEFAULT_FILES, "glob patterns of Wyn test files"),
    ("wyn_compiler", "string", "", "path of the Wyn compiler"),
    ("wyn_compile_command", "string", "", "compile command with {compiler} {args} {source} {output}"),
    ("wyn_compile_output", "string", "", "where the binary appears when the command has no {output}"),
    ("wyn_compile_args", "args", [], "extra compiler arguments"),
    ("wyn_timeout", "string", "", f"per-test run timeout in s (default {DEFAULT_TIMEOUT:g})"),
    ("wyn_compile_timeout", "string", "", f"per-file compile timeout in s (default {DEFAULT_COMPILE_TIMEOUT:g})"),
    ("wyn_compile_retries", "string", "", f"retries of host-resource build failures (default {DEFAULT_RETRIES})"),
    ("wyn_cache_dir", "string", "", "compile cache directory"),
    ("wyn_cache_max_size", "string", "", f"cache size cap (default {DEFAULT_CACHE_SIZE})"),
    ("wyn_memory_limit", "string", "", f"address space per test binary, or none (default {DEFAULT_MEMORY_LIMIT})"),
    ("wyn_run_ahead", "bool", True, "without workers, run upcoming files' binaries ahead (default true)"),
    ("wyn_update", "string", "", "expect or all: as --wyn-update (normally unset)"),
    ("wyn_max_output", "string", "", "bytes of output kept per run (head + tail)"),
    ("wyn_compile_jobs", "string", "", "compiles at once (default: CPUs)"),
    ("wyn_workers", "string", "", f"most xdist workers started by default: N or auto (default {DEFAULT_WORKERS})"),
    ("wyn_remote_cache", "string", "", "shared cache URL, http(s):// or redis:// (no credentials here)"),
    ("wyn_remote_cache_write", "bool", False, "upload to the shared cache (also needs a signing key)"),
    ("wyn_remote_cache_trusted_keys", "linelist", [], "ssh-ed25519 public key lines whose entries are accepted"),
    (
        "wyn_remote_cache_timeout",
        "string",
        "",
        f"seconds per shared-cache request (default {DEFAULT_REMOTE_TIMEOUT:g})",
    ),
)


def is_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("wyn", False) or config.getini("wyn"))


def _first(*values: str | None) -> str | None:
    for v in values:
        if v not in (None, ""):
            return v
    return None


def _number(name: str, text: str | None, default: float, minimum: float = 0.0) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"{name} must be a number, not {text!r}") from None
    if value <= minimum:
        raise pytest.UsageError(f"{name} must be greater than {minimum:g}, not {text!r}")
    return value


def read(config: pytest.Config) -> Settings:
    env = os.environ
    opt = config.getoption
    args = list(config.getini("wyn_compile_args"))
    if opt("wyn_compile_args"):
        args += shlex.split(opt("wyn_compile_args"))
    cache_dir = _first(opt("wyn_cache_dir"), env.get("PYTEST_WYN_CACHE_DIR"), config.getini("wyn_cache_dir"))
    try:
        max_size = parse_size(
            _first(env.get("PYTEST_WYN_CACHE_MAX_SIZE"), config.getini("wyn_cache_max_size")) or DEFAULT_CACHE_SIZE
        )
        max_output = parse_size(
            _first(opt("wyn_max_output"), env.get("PYTEST_WYN_MAX_OUTPUT"), config.getini("wyn_max_output"))
            or str(DEFAULT_OUTPUT_LIMIT)
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    memory_set = _first(opt("wyn_memory_limit"), env.get("PYTEST_WYN_MEMORY_LIMIT"), config.getini("wyn_memory_limit"))
    memory_text = memory_set or DEFAULT_MEMORY_LIMIT
    try:
        memory_limit = None if memory_text.strip().lower() in ("none", "0", "off") else parse_size(memory_text)
    except ValueError as exc:
        raise pytest.UsageError(f"wyn_memory_limit: {exc}") from None
    root = config.rootpath
    return Settings(
        files=tuple(opt("wyn_files").split()) if opt("wyn_files") else tuple(config.getini("wyn_files")),
        compiler_option=opt("wyn_compiler"),
        compiler_ini=config.getini("wyn_compiler") or None,
        compiler_env=env.get("WYN") or None,
        compile_command=config.getini("wyn_compile_command"),
        compile_output=config.getini("wyn_compile_output") or None,
        compile_args=tuple(args),
        timeout=_number(
            "wyn_timeout",
            _first(str(opt("wyn_timeout") or ""), env.get("PYTEST_WYN_TIMEOUT"), config.getini("wyn_timeout")),
            DEFAULT_TIMEOUT,
        ),
        compile_timeout=_number(
            "wyn_compile_timeout",
            _first(
                str(opt("wyn_compile_timeout") or ""),
                env.get("PYTEST_WYN_COMPILE_TIMEOUT"),
                config.getini("wyn_compile_timeout"),
            ),
            DEFAULT_COMPILE_TIMEOUT,
        ),
        compile_retries=int(
            _number("wyn_compile_retries", config.getini("wyn_compile_retries") or None, DEFAULT_RETRIES, minimum=-1)
        ),
        cache_dir=(root / Path(cache_dir).expanduser())
        if cache_dir
        else Path(platformdirs.user_cache_dir("pytest-wyn")),
        use_cache=not (opt("wyn_no_cache") or env.get("PYTEST_WYN_NO_CACHE", "") not in ("", "0")),
        clear_cache=bool(opt("wyn_cache_clear")),
        cache_max_size=max_size,
        max_output=max(max_output, 1024),
        workers=_first(opt("wyn_workers"), env.get("PYTEST_WYN_WORKERS"), config.getini("wyn_workers"))
        or str(DEFAULT_WORKERS),
        compile_jobs=int(
            _number(
                "wyn_compile_jobs",
                _first(opt("wyn_compile_jobs"), env.get("PYTEST_WYN_COMPILE_JOBS"), config.getini("wyn_compile_jobs")),
                float(usable_cpus()),
            )
        ),
        memory_limit=memory_limit,
        memory_limit_set=memory_set is not None,
        keep_binaries=root / ".pytest_cache" / "d" / "wyn-binaries" if opt("wyn_keep_binaries") else None,
        run_ahead=not opt("wyn_no_run_ahead")
        and config.getini("wyn_run_ahead")
        and env.get("PYTEST_WYN_RUN_AHEAD", "1") not in ("0", "no", "false"),
        update=_update_mode(_first(opt("wyn_update"), env.get("PYTEST_WYN_UPDATE"), config.getini("wyn_update"))),
        remote=_remote(config),
    )


def _yes(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "yes", "true", "on")


def _remote(config: pytest.Config) -> RemoteConfig | None:
    """The shared cache's settings; credentials only ever from the environment."""
    env = os.environ
    if config.getoption("wyn_no_remote_cache") or _yes(env.get("PYTEST_WYN_NO_REMOTE_CACHE")):
        return None
    ini_url = config.getini("wyn_remote_cache")
    url = _first(config.getoption("wyn_remote_cache"), env.get("PYTEST_WYN_REMOTE_CACHE"), ini_url)
    if not url:
        return None
    url = url.strip()
    if not url.startswith(("http://", "https://", "redis://", "rediss://", "unix://")):
        raise pytest.UsageError(f"wyn_remote_cache must be an http(s):// or redis:// URL, not {url!r}")
    if url == ini_url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        raise pytest.UsageError(
            "wyn_remote_cache in the ini file holds credentials: an ini file is committed and read by everyone. "
            "Put them in PYTEST_WYN_REMOTE_CACHE_TOKEN, or the whole URL in PYTEST_WYN_REMOTE_CACHE"
        )
    trusted = list(config.getini("wyn_remote_cache_trusted_keys"))
    trusted += env.get("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", "").splitlines()
    key = env.get("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", "")
    return RemoteConfig(
        url=url,
        token=env.get("PYTEST_WYN_REMOTE_CACHE_TOKEN", ""),
        timeout=_number(
            "wyn_remote_cache_timeout",
            _first(env.get("PYTEST_WYN_REMOTE_CACHE_TIMEOUT"), config.getini("wyn_remote_cache_timeout")),
            DEFAULT_REMOTE_TIMEOUT,
        ),
        trusted_keys=tuple(line for line in trusted if line.strip()),
        write=_yes(env["PYTEST_WYN_REMOTE_CACHE_WRITE"])
        if env.get("PYTEST_WYN_REMOTE_CACHE_WRITE")
        else bool(config.getini("wyn_remote_cache_write")),
        signing_key=Path(key).expanduser() if key else None,
    )


def _update_mode(text: str | None) -> str | None:
    if text is None or text.strip().lower() in ("", "0", "no", "off"):
        return None
    mode = text.strip().lower()
    if mode in ("1", "yes", "true", "expect"):
        return "expect"
    if mode == "all":
        return "all"
    raise pytest.UsageError(f"wyn_update must be expect or all, not {text!r}")
