"""Every user setting read once per session into the engine's ``Settings``.

The options, ini values and environment variables are the ones the table in
``settings_table.py`` names (``_given`` reads a setting's sources through it);
its docstring says how they combine. Read once per session and kept in the
stash; an xdist worker takes its controller's (``for_this_process``).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from pathlib import Path
from typing import Literal

import pytest

from . import settings_table
from .engine.knownfail import read_lists
from .engine.remote.config import DEFAULT_REMOTE_TIMEOUT, SCHEMES, RemoteConfig, redact, scheme_of, with_lower_scheme
from .engine.settings import (
    BOOL_ACCEPTED,
    BOOL_WORDS,
    DEFAULT_CACHE_SIZE,
    DEFAULT_COMPILE_TIMEOUT,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    MAX_SECONDS,
    SettingError,
    Settings,
    UpdateMode,
    default_compile_jobs,
    parse_bool,
    parse_number,
    parse_size,
    user_cache_root,
)


def add_options(parser: pytest.Parser) -> None:
    settings_table.add_to(parser)


def _row(ini: str, combine: settings_table.Combine) -> settings_table.Setting:
    row = settings_table.BY_NAME[ini]
    assert row.combine == combine, f"{ini} combines its sources by {row.combine}, not {combine}"
    return row


def _given(config: pytest.Config, ini: str) -> str | None:
    """A setting's value from the first source that has one: command line, environment, ini (as text)."""
    row = _row(ini, "first")
    if row.option:
        value = config.getoption(row.dest)
        if value not in (None, "", False):
            return str(value)
    if row.env and os.environ.get(row.env):
        return os.environ[row.env]
    value = config.getini(ini)
    return str(value) if value not in (None, "") else None


def _concatenated(config: pytest.Config, ini: str) -> list[str]:
    """Every source's values, the ini's first, then the environment's (lines), then the command line's (words)."""
    row = _row(ini, "concatenate")
    values = [str(v) for v in config.getini(ini)]
    if row.env:
        values += os.environ.get(row.env, "").splitlines()
    if row.option and config.getoption(row.dest):
        values += shlex.split(config.getoption(row.dest))
    return values


def _all_allow(config: pytest.Config, ini: str) -> bool:
    """On unless a source turns it off: the option (a switch that says no), the environment, the ini."""
    row = _row(ini, "all_allow")
    if row.option and config.getoption(row.dest):
        return False
    return _flag(row.env, os.environ.get(row.env), True) and _flag(ini, config.getini(ini), True)


def is_enabled(config: pytest.Config) -> bool:
    """``--wyn`` or ``wyn = true``; in an xdist worker, whatever its controller decided (it sends its settings)."""
    if config.getoption("wyn", False) or "wyn" in getattr(config, "workerinput", {}):
        return True
    try:
        return _flag("wyn", config.getini("wyn"), False)
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None


def _flag(name: str, text: str | None, default: bool) -> bool:
    """A boolean setting's text (ini or environment), through the one parser; unset: the default."""
    if text is None or not str(text).strip():
        return default
    return parse_bool(name, str(text))


def _number(
    name: str,
    text: str | None,
    default: float,
    low: float = 0.0,
    high: float = MAX_SECONDS,
    whole: bool = False,
    low_included: bool = False,
) -> float:
    """A numeric setting: finite and in (low, high] (or [low, high]), or a usage error naming the setting."""
    if text is None:
        return default
    return parse_number(name, text, low, high, whole, low_included)


SETTINGS = pytest.StashKey[Settings]()  # read once per session, by whichever asks first


def read(config: pytest.Config) -> Settings:
    """The settings from this process's command line, environment and ini: read once, kept in the stash."""
    if SETTINGS not in config.stash:
        try:
            config.stash[SETTINGS] = _read(config)
        except SettingError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS]


def for_this_process(config: pytest.Config) -> Settings:
    """The session's settings: read here, or, in an xdist worker, the ones its controller read and sent.

    A worker on another machine replaces what belongs to its host: where its
    compiler is (its ``$WYN`` and ini), its cache folders, and its own
    credentials for the shared cache (never sent over the gateway).
    """
    sent = getattr(config, "workerinput", {}).get("wyn")
    if sent is None:
        return read(config)
    settings = Settings.from_wire(sent["settings"])
    if not sent.get("elsewhere"):
        return settings
    try:
        return _on_this_host(config, settings)
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None


def _on_this_host(config: pytest.Config, sent: Settings) -> Settings:
    env = os.environ
    root = config.rootpath
    cache_dir = _given(config, "wyn_cache_dir")
    return dataclasses.replace(
        sent,
        compiler_ini=config.getini("wyn_compiler") or None,
        compiler_env=env.get("WYN") or None,
        cache_dir=_cache_dir(root, cache_dir),
        c_cache_dir=_c_cache_dir(root),
        keep_binaries=_kept_binaries(root) if sent.keep_binaries is not None else None,
        remote=sent.remote.with_host_secrets(env) if sent.remote is not None else None,
    )


def _cache_dir(root: Path, given: str | None) -> Path:
    return root / Path(given).expanduser() if given else user_cache_root()


def _c_cache_dir(root: Path) -> Path | None:
    where = os.environ.get("PYTEST_WYN_C_CACHE_DIR")
    return root / Path(where).expanduser() if where else None


def _kept_binaries(root: Path) -> Path:
    return root / ".pytest_cache" / "d" / "wyn-binaries"


def _read(config: pytest.Config) -> Settings:
    env = os.environ
    opt = config.getoption
    args = _concatenated(config, "wyn_compile_args")
    cache_dir = _given(config, "wyn_cache_dir")
    try:
        max_size = parse_size(_given(config, "wyn_cache_max_size") or DEFAULT_CACHE_SIZE)
    except SettingError as exc:
        raise SettingError(f"wyn_cache_max_size: {exc}") from None
    try:
        max_output = parse_size(_given(config, "wyn_max_output") or str(DEFAULT_OUTPUT_LIMIT))
    except SettingError as exc:
        raise SettingError(f"wyn_max_output: {exc}") from None
    memory_set = _given(config, "wyn_memory_limit")
    memory_text = memory_set or DEFAULT_MEMORY_LIMIT
    try:
        memory_limit = None if memory_text.strip().lower() in ("none", "0", "off") else parse_size(memory_text)
    except SettingError as exc:
        raise SettingError(f"wyn_memory_limit: {exc}") from None
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
            _number("wyn_compile_retries", _given(config, "wyn_compile_retries"), DEFAULT_RETRIES, 0, 100, True, True)
        ),
        cache_dir=_cache_dir(root, cache_dir),
        use_cache=not (opt("wyn_no_cache") or _flag("PYTEST_WYN_NO_CACHE", env.get("PYTEST_WYN_NO_CACHE"), False)),
        clear_cache=bool(opt("wyn_cache_clear")),
        cache_max_size=max_size,
        max_output=max(max_output, 1024),
        workers=_workers(_given(config, "wyn_workers")),
        compile_jobs=int(
            _number(
                "wyn_compile_jobs", _given(config, "wyn_compile_jobs"), float(default_compile_jobs()), 0, 1024, True
            )
        ),
        memory_limit=memory_limit,
        memory_limit_set=memory_set is not None,
        keep_binaries=_kept_binaries(root) if opt("wyn_keep_binaries") else None,
        run_ahead=_all_allow(config, "wyn_run_ahead"),
        update=_update_mode(_given(config, "wyn_update")),
        remote=_remote(config),
        c_cache=_flag("wyn_c_cache", _given(config, "wyn_c_cache"), True),
        known_failures=tuple(
            (name, known.list_name, known.kind)
            for name, known in read_lists(list(config.getini("wyn_known_failures")), root).items()
        ),
        c_cache_dir=_c_cache_dir(root),
    )


def _workers(text: str | None) -> int | Literal["auto"]:
    """``auto`` or a whole number of workers from 0 to 1024 (0: the default ceiling)."""
    if text is None:
        return DEFAULT_WORKERS
    if text.strip().lower() == "auto":
        return "auto"
    return int(parse_number("wyn_workers", text, 0, 1024, True, True)) or DEFAULT_WORKERS


def _remote(config: pytest.Config) -> RemoteConfig | None:
    """The shared cache's settings; credentials only ever from the environment."""
    env = os.environ
    if config.getoption("wyn_no_remote_cache") or _flag(
        "PYTEST_WYN_NO_REMOTE_CACHE", env.get("PYTEST_WYN_NO_REMOTE_CACHE"), False
    ):
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
    trusted = _concatenated(config, "wyn_remote_cache_trusted_keys")
    key = env.get("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", "")
    return RemoteConfig(
        source=_source_of_remote(config, url),
        url=url,
        token=env.get("PYTEST_WYN_REMOTE_CACHE_TOKEN", ""),
        timeout=_number(
            "wyn_remote_cache_timeout", _given(config, "wyn_remote_cache_timeout"), DEFAULT_REMOTE_TIMEOUT, high=600
        ),
        trusted_keys=tuple(line for line in trusted if line.strip()),
        write=_flag("PYTEST_WYN_REMOTE_CACHE_WRITE", env.get("PYTEST_WYN_REMOTE_CACHE_WRITE"), False)
        if env.get("PYTEST_WYN_REMOTE_CACHE_WRITE", "").strip()
        else _flag("wyn_remote_cache_write", config.getini("wyn_remote_cache_write"), False),
        signing_key=Path(key).expanduser() if key else None,
    )


def _source_of_remote(config: pytest.Config, url: str) -> tuple[str, int]:
    """Where ``wyn_remote_cache`` was set: the option, the environment, or the config file and its line."""
    if config.getoption("wyn_remote_cache"):
        return "--wyn-remote-cache", 1
    if os.environ.get("PYTEST_WYN_REMOTE_CACHE"):
        return "PYTEST_WYN_REMOTE_CACHE", 1
    path = config.inipath
    if path is not None:
        try:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip().startswith("wyn_remote_cache") and url in line:
                    return str(path), number
        except (OSError, UnicodeDecodeError):
            pass
        return str(path), 1
    return "wyn_remote_cache", 1


def _update_mode(text: str | None) -> UpdateMode | None:
    """``expect``, ``all``, or a boolean word (on: ``expect``)."""
    mode = (text or "").strip().lower()
    if mode == "all":
        return "all"
    if mode == "expect":
        return "expect"
    if not mode:
        return None
    if mode not in BOOL_WORDS:
        raise SettingError(f"wyn_update must be expect, all, or one of {BOOL_ACCEPTED}, not {text!r}")
    return "expect" if BOOL_WORDS[mode] else None
