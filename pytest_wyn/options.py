"""Every user setting read once per session into the engine's ``Settings``.

The options, ini values and environment variables are the ones the table in
``settings_table.py`` names (``_given`` reads a setting's sources through it).
Precedence: command line, then environment, then ini, then default.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import platformdirs
import pytest

from . import settings_table
from .engine.remote.config import DEFAULT_REMOTE_TIMEOUT, SCHEMES, RemoteConfig, redact, scheme_of, with_lower_scheme
from .engine.settings import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_COMPILE_TIMEOUT,
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
    settings_table.add_to(parser)


def _given(config: pytest.Config, ini: str) -> str | None:
    """A setting's value from the first source that has one: command line, environment, ini (as text)."""
    row = settings_table.BY_NAME[ini]
    if row.option:
        value = config.getoption(row.dest)
        if value not in (None, "", False):
            return str(value)
    if row.env and os.environ.get(row.env):
        return os.environ[row.env]
    value = config.getini(ini)
    return str(value) if value not in (None, "") else None


def is_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("wyn", False) or config.getini("wyn"))


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
    cache_dir = _given(config, "wyn_cache_dir")
    try:
        max_size = parse_size(_given(config, "wyn_cache_max_size") or DEFAULT_CACHE_SIZE)
        max_output = parse_size(_given(config, "wyn_max_output") or str(DEFAULT_OUTPUT_LIMIT))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    memory_set = _given(config, "wyn_memory_limit")
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
            _given(config, "wyn_timeout"),
            DEFAULT_TIMEOUT,
        ),
        compile_timeout=_number(
            "wyn_compile_timeout",
            _given(config, "wyn_compile_timeout"),
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
        workers=_given(config, "wyn_workers") or str(DEFAULT_WORKERS),
        compile_jobs=int(
            _number(
                "wyn_compile_jobs",
                _given(config, "wyn_compile_jobs"),
                float(usable_cpus()),
            )
        ),
        memory_limit=memory_limit,
        memory_limit_set=memory_set is not None,
        keep_binaries=root / ".pytest_cache" / "d" / "wyn-binaries" if opt("wyn_keep_binaries") else None,
        run_ahead=not opt("wyn_no_run_ahead")
        and config.getini("wyn_run_ahead")
        and env.get("PYTEST_WYN_RUN_AHEAD", "1") not in ("0", "no", "false"),
        update=_update_mode(_given(config, "wyn_update")),
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
    url = _given(config, "wyn_remote_cache")
    if not url:
        return None
    url = url.strip()
    if scheme_of(url) not in SCHEMES:
        raise pytest.UsageError(f"wyn_remote_cache must be an http(s):// or redis:// URL, not {redact(url)!r}")
    if url == ini_url.strip() and redact(url) != url:
        raise pytest.UsageError(
            f"wyn_remote_cache in the ini file holds credentials ({redact(url)}): an ini file is committed and "
            "read by everyone. Put them in PYTEST_WYN_REMOTE_CACHE_TOKEN, or the whole URL in PYTEST_WYN_REMOTE_CACHE"
        )
    url = with_lower_scheme(url)
    trusted = list(config.getini("wyn_remote_cache_trusted_keys"))
    trusted += env.get("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", "").splitlines()
    key = env.get("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", "")
    return RemoteConfig(
        url=url,
        token=env.get("PYTEST_WYN_REMOTE_CACHE_TOKEN", ""),
        timeout=_number(
            "wyn_remote_cache_timeout",
            _given(config, "wyn_remote_cache_timeout"),
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
