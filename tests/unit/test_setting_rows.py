"""Issue 30.3: each row of the settings table reads its sources by its combining rule, then its own parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pytest_wyn import options, setting_values, settings_table
from pytest_wyn.engine.defaults import DEFAULT_FILES, DEFAULT_WORKERS, SettingError
from pytest_wyn.engine.settings import Settings


class FakeConfig:
    """What options.sources asks of pytest's Config: the options, the ini values, the rootdir."""

    def __init__(self, root: Path, option: dict[str, Any] | None = None, ini: dict[str, Any] | None = None) -> None:
        self.rootpath = root
        self._option = option or {}
        self._ini = ini or {}

    def getoption(self, dest: str) -> Any:
        return self._option.get(dest)

    def getini(self, name: str) -> Any:
        row = settings_table.BY_NAME[name]
        return self._ini.get(name, row.ini_default)


def value(tmp_path: Path, name: str, option: dict[str, Any] | None = None, ini: dict[str, Any] | None = None) -> Any:
    return options.value(FakeConfig(tmp_path, option, ini), name)  # type: ignore[arg-type]


def test_every_row_has_a_name_a_rule_and_parses_its_unset_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for row in settings_table.SETTINGS:
        if row.env:
            monkeypatch.delenv(row.env, raising=False)
    names = [row.name for row in settings_table.SETTINGS]
    assert len(names) == len(set(names))  # one row per name
    for row in settings_table.SETTINGS:
        assert row.combine in ("first", "concatenate", "all_allow", "apart")
        value(tmp_path, row.name)  # unset: the parser's default, never an error
    assert value(tmp_path, "wyn_files") == tuple(DEFAULT_FILES)
    assert value(tmp_path, "wyn_workers") == DEFAULT_WORKERS
    assert value(tmp_path, "wyn_run_ahead") is True
    assert value(tmp_path, "wyn_memory_limit") == (4 << 30, False)


def test_first_takes_the_option_then_the_environment_then_the_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = {"wyn_timeout": "7"}
    assert value(tmp_path, "wyn_timeout", ini=ini) == 7.0
    monkeypatch.setenv("PYTEST_WYN_TIMEOUT", "5")
    assert value(tmp_path, "wyn_timeout", ini=ini) == 5.0
    assert value(tmp_path, "wyn_timeout", {"wyn_timeout": 3.0}, ini) == 3.0
    monkeypatch.setenv("PYTEST_WYN_TIMEOUT", "  ")  # blank: unset
    assert value(tmp_path, "wyn_timeout", ini=ini) == 7.0


def test_concatenate_keeps_every_source_the_ini_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", "ssh-ed25519 B env\n\n")
    keys = value(tmp_path, "wyn_remote_cache_trusted_keys", ini={"wyn_remote_cache_trusted_keys": ["ssh-ed25519 A ini"]})
    assert keys == ("ssh-ed25519 A ini", "ssh-ed25519 B env")
    args = value(tmp_path, "wyn_compile_args", {"wyn_compile_args": "--release '-O 2'"}, {"wyn_compile_args": ["-g"]})
    assert args == ("-g", "--release", "-O 2")


@pytest.mark.parametrize(
    ("option", "env", "ini", "on"),
    [(False, None, "", True), (True, None, "", False), (False, "off", "", False), (False, None, "no", False),
     (False, "1", "yes", True)],
)
def test_all_allow_is_on_unless_one_source_says_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: bool, env: str | None, ini: str, on: bool
) -> None:
    if env is not None:
        monkeypatch.setenv("PYTEST_WYN_RUN_AHEAD", env)
    else:
        monkeypatch.delenv("PYTEST_WYN_RUN_AHEAD", raising=False)
    assert value(tmp_path, "wyn_run_ahead", {"wyn_no_run_ahead": option}, {"wyn_run_ahead": ini}) is on


def test_apart_keeps_each_source_of_the_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WYN", "/env/wyn")
    got = value(tmp_path, "wyn_compiler", {"wyn_compiler": "opt/wyn"}, {"wyn_compiler": "ini/wyn"})
    assert got == ("opt/wyn", "/env/wyn", "ini/wyn")


def test_paths_are_from_the_rootdir_and_a_switch_makes_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_WYN_CACHE_DIR", raising=False)
    assert value(tmp_path, "wyn_cache_dir", ini={"wyn_cache_dir": "c"}) == tmp_path / "c"
    kept = value(tmp_path, "--wyn-keep-binaries", {"wyn_keep_binaries": True})
    assert kept == tmp_path / ".pytest_cache" / "d" / "wyn-binaries"
    assert value(tmp_path, "--wyn-keep-binaries") is None


@pytest.mark.parametrize(
    ("parse", "given", "expected"),
    [
        (setting_values.flag(False), "Yes", True),
        (setting_values.flag(True), "", True),
        (setting_values.workers, "AUTO", "auto"),
        (setting_values.workers, "0", DEFAULT_WORKERS),
        (setting_values.update_mode, "on", "expect"),
        (setting_values.update_mode, "all", "all"),
        (setting_values.update_mode, "0", None),
        (setting_values.memory_limit("4GiB"), "none", (None, True)),
        (setting_values.size("1MiB", at_least=1024), "10", 1024),
        (setting_values.remote_url, " HTTPS://cache.example/ ", "https://cache.example/"),
        (setting_values.whole(3, 0, 100, low_included=True), "0", 0),
    ],
)
def test_each_parser_makes_its_value(tmp_path: Path, parse: setting_values.Parser, given: str, expected: Any) -> None:
    assert parse("wyn_x", given, tmp_path) == expected


@pytest.mark.parametrize(
    ("parse", "given", "told"),
    [
        (setting_values.flag(False), "maybe", "wyn_x must be 1/0, true/false, yes/no or on/off, not 'maybe'"),
        (setting_values.number(1.0), "inf", "wyn_x must be a finite number in (0, 604800], not 'inf'"),
        (setting_values.whole(3, 0, 100), "2.5", "wyn_x must be a whole number in (0, 100], not '2.5'"),
        (setting_values.size("1MiB"), "lots", "wyn_x: not a size: 'lots'"),
        (setting_values.remote_url, "ftp://u:pw@host/", "wyn_x must be an http(s):// or redis:// URL, not 'ftp://***@host/'"),
        (setting_values.update_mode, "everything", "wyn_x must be expect, all, or one of"),
    ],
)
def test_a_parser_names_the_setting_and_what_it_accepts(
    tmp_path: Path, parse: setting_values.Parser, given: str, told: str
) -> None:
    with pytest.raises(SettingError) as caught:
        parse("wyn_x", given, tmp_path)
    assert told in str(caught.value)


def test_every_field_of_the_settings_is_filled_by_one_row() -> None:
    """A new field of engine.Settings needs its row (and the table's rows name only real fields)."""
    filled: list[str] = []
    for row in settings_table.SETTINGS:
        filled += [row.field] if isinstance(row.field, str) and row.field else list(row.field or ())
    assert len(filled) == len(set(filled))
    assert sorted([*filled, "remote"]) == sorted(f.name for f in dataclasses.fields(Settings))


def test_a_switch_that_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_WYN_NO_CACHE", raising=False)
    assert value(tmp_path, "PYTEST_WYN_NO_CACHE") is True  # the cache stays on
    assert value(tmp_path, "PYTEST_WYN_NO_CACHE", {"wyn_no_cache": True}) is False
