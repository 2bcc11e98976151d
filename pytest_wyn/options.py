"""Every user setting read once per session into the engine's ``Settings``.

Each row of ``settings_table.py`` says where a setting comes from, how its
sources combine and which parser makes its value; ``value`` reads one row
that way, and ``_read`` every row, once per session (kept in the stash). An
xdist worker takes its controller's (``for_this_process``).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from typing import TYPE_CHECKING, Any

import pytest

from . import engine, settings_table
from .engine import SettingError, redact, with_lower_scheme

if TYPE_CHECKING:  # loaded when the settings are read: a session without Wyn tests never builds them
    from .engine import RemoteConfig, Settings


def add_options(parser: pytest.Parser) -> None:
    settings_table.add_to(parser)


def _env(name: str) -> str | None:
    """An environment variable's value; unset or blank: None."""
    value = os.environ.get(name, "") if name else ""
    return value if value.strip() else None


def sources(config: pytest.Config, row: settings_table.Setting) -> Any:
    """What a setting's sources give, combined by its row's rule (see settings_table's docstring)."""
    option = config.getoption(row.dest) if row.option else None
    ini = config.getini(row.ini) if row.ini else None
    if row.combine == "first":
        if option not in (None, "", False):
            return str(option)
        env = _env(row.env)
        if env is not None:
            return env
        return ini if ini not in (None, "", []) else None
    if row.combine == "concatenate":
        return [str(v) for v in ini or []] + (_env(row.env) or "").splitlines() + shlex.split(option or "")
    if row.combine == "all_allow":  # each source's say: the option is a switch that says no
        said = [(row.option, "0" if option else None), (row.env, _env(row.env)), (row.ini, ini)]
        return [(name, str(word) if word is not None else None) for name, word in said if name]
    return (option or None, _env(row.env), ini or None)  # apart


def value(config: pytest.Config, name: str) -> Any:
    """One setting's value: its sources, combined and parsed by its row (SettingError names the setting)."""
    row = settings_table.BY_NAME[name]
    return row.parse(row.name, sources(config, row), config.rootpath)


def is_enabled(config: pytest.Config) -> bool:
    """``--wyn`` or ``wyn = true``; in an xdist worker, whatever its controller decided (it sends its settings)."""
    if "wyn" in getattr(config, "workerinput", {}):
        return True
    try:
        return bool(value(config, "wyn"))
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None


SETTINGS = pytest.StashKey["Settings"]()  # read once per session, by whichever asks first


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
    settings = engine.Settings.from_wire(sent["settings"])
    if not sent.get("elsewhere"):
        return settings
    try:
        return _on_this_host(config, settings)
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None


def _on_this_host(config: pytest.Config, sent: Settings) -> Settings:
    _, compiler_env, compiler_ini = value(config, "wyn_compiler")  # the option travelled with the settings
    return dataclasses.replace(
        sent,
        compiler_ini=compiler_ini,
        compiler_env=compiler_env,
        cache_dir=value(config, "wyn_cache_dir"),
        c_cache_dir=value(config, "PYTEST_WYN_C_CACHE_DIR"),
        keep_binaries=value(config, "--wyn-keep-binaries") if sent.keep_binaries is not None else None,
        remote=sent.remote.with_host_secrets(os.environ) if sent.remote is not None else None,
    )


def _read(config: pytest.Config) -> Settings:
    """Every row of the table, parsed; each value fills its row's field (the shared cache's rows: ``remote``)."""
    given = {row.name: row.parse(row.name, sources(config, row), config.rootpath) for row in settings_table.SETTINGS}
    fields: dict[str, Any] = {}
    for row in settings_table.SETTINGS:
        if isinstance(row.field, tuple):
            fields.update(zip(row.field, given[row.name], strict=True))
        elif row.field:
            fields[row.field] = given[row.name]
    remote = None if given["PYTEST_WYN_NO_REMOTE_CACHE"] else _remote(config, given)
    return engine.Settings(**fields, remote=remote)


def _remote(config: pytest.Config, given: dict[str, Any]) -> RemoteConfig | None:
    """The shared cache's settings, from its rows; credentials only ever from the environment."""
    url = given["wyn_remote_cache"]
    if not url:
        return None
    if url == with_lower_scheme(str(config.getini("wyn_remote_cache")).strip()) and redact(url) != url:
        raise SettingError(
            f"wyn_remote_cache in the ini file holds credentials ({redact(url)}): an ini file is committed and "
            "read by everyone. Put them in PYTEST_WYN_REMOTE_CACHE_TOKEN, or the whole URL in PYTEST_WYN_REMOTE_CACHE"
        )
    return engine.RemoteConfig(
        source=_source_of_remote(config, url),
        url=url,
        token=given["PYTEST_WYN_REMOTE_CACHE_TOKEN"],
        timeout=given["wyn_remote_cache_timeout"],
        trusted_keys=given["wyn_remote_cache_trusted_keys"],
        write=given["wyn_remote_cache_write"],
        signing_key=given["PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY"],
    )


def _source_of_remote(config: pytest.Config, url: str) -> tuple[str, int]:
    """Where ``wyn_remote_cache`` was set: the option, the environment, or the config file and its line."""
    if config.getoption("wyn_remote_cache"):
        return "--wyn-remote-cache", 1
    if _env("PYTEST_WYN_REMOTE_CACHE"):
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
