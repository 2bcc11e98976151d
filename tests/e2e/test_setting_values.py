"""Every boolean read one way, every number finite and in range, or a usage error naming the setting (issue 28.9-10)."""

from __future__ import annotations

import pytest
from conftest import WynProject

from pytest_wyn import options


def settings_with(wyn: WynProject, **env: str) -> options.Settings:
    for name, value in env.items():
        wyn.monkeypatch.setenv(name, value)
    config = wyn.pytester.parseconfigure()
    return options.read(config)


@pytest.mark.parametrize(
    ("value", "cache_on"),
    [("1", False), ("true", False), ("YES", False), ("on", False), ("0", True), ("false", True), ("no", True),
     ("Off", True), ("", True)],
)
def test_no_cache_reads_every_boolean_word(wyn: WynProject, value: str, cache_on: bool) -> None:
    """`PYTEST_WYN_NO_CACHE=false` (and `=no`) used to turn the cache off."""
    assert settings_with(wyn, PYTEST_WYN_NO_CACHE=value).use_cache is cache_on


@pytest.mark.parametrize(
    ("value", "on"), [("off", False), ("False", False), ("0", False), ("no", False), ("1", True), ("ON", True)]
)
def test_run_ahead_reads_every_boolean_word(wyn: WynProject, value: str, on: bool) -> None:
    """`PYTEST_WYN_RUN_AHEAD=off` (and `=False`) used to leave run-ahead on."""
    assert settings_with(wyn, PYTEST_WYN_RUN_AHEAD=value).run_ahead is on


def test_ini_booleans_take_the_same_words(wyn: WynProject) -> None:
    wyn.pytester.makeini("[pytest]\nwyn = On\nwyn_run_ahead = no\n")
    assert options.is_enabled(wyn.pytester.parseconfigure())
    assert settings_with(wyn).run_ahead is False


BAD = [
    ({"PYTEST_WYN_NO_CACHE": "maybe"}, "", "PYTEST_WYN_NO_CACHE must be 1/0, true/false, yes/no or on/off, not 'maybe'"),
    ({"PYTEST_WYN_RUN_AHEAD": "sometimes"}, "", "PYTEST_WYN_RUN_AHEAD must be 1/0, true/false, yes/no or on/off"),
    ({}, "wyn_run_ahead = perhaps\n", "wyn_run_ahead must be 1/0, true/false, yes/no or on/off, not 'perhaps'"),
    ({"PYTEST_WYN_UPDATE": "everything"}, "", "wyn_update must be expect, all, or one of 1/0, true/false"),
    ({"PYTEST_WYN_COMPILE_JOBS": "inf"}, "", "wyn_compile_jobs must be a finite number in (0, 1024], not 'inf'"),
    ({"PYTEST_WYN_COMPILE_JOBS": "0.5"}, "", "wyn_compile_jobs must be a whole number in (0, 1024], not '0.5'"),
    ({"PYTEST_WYN_COMPILE_JOBS": "-3"}, "", "wyn_compile_jobs must be a finite number in (0, 1024], not '-3'"),
    ({}, "wyn_compile_retries = nan\n", "wyn_compile_retries must be a finite number in [0, 100], not 'nan'"),
    ({"PYTEST_WYN_MEMORY_LIMIT": "1e400"}, "", "wyn_memory_limit: not a size: '1e400'"),
    ({}, "wyn_cache_max_size = 1e400\n", "wyn_cache_max_size: not a size: '1e400'"),
    ({}, "wyn_cache_max_size = -5MiB\n", "wyn_cache_max_size: not a size: '-5MiB'"),
    ({"PYTEST_WYN_TIMEOUT": "nan"}, "", "wyn_timeout must be a finite number in (0, 604800], not 'nan'"),
    ({"PYTEST_WYN_TIMEOUT": "inf"}, "", "wyn_timeout must be a finite number in (0, 604800], not 'inf'"),
    ({"PYTEST_WYN_WORKERS": "-2"}, "", "wyn_workers must be a finite number in [0, 1024], not '-2'"),
    (
        {"PYTEST_WYN_REMOTE_CACHE": "http://127.0.0.1:9/", "PYTEST_WYN_REMOTE_CACHE_TIMEOUT": "nan"},
        "",
        "wyn_remote_cache_timeout must be a finite number in (0, 600], not 'nan'",
    ),
]


@pytest.mark.parametrize(("env", "ini", "told"), BAD, ids=[t for _, _, t in BAD])
def test_a_bad_value_is_a_usage_error_naming_the_setting(wyn: WynProject, env: dict[str, str], ini: str, told: str) -> None:
    """These crashed with a traceback, failed every test as an internal error, or were accepted silently."""
    for name, value in env.items():
        wyn.monkeypatch.setenv(name, value)
    wyn.ini(ini)
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    result = wyn.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert told in out
    assert "Traceback" not in out and "internal error" not in out


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "0", "-1", "604801"])
def test_a_timeout_directive_out_of_range_fails_that_test_at_its_line(wyn: WynProject, value: str) -> None:
    wyn.write("test_t.wyn", f'println("a")\n// TIMEOUT: {value}\n// EXPECT: a\n')
    wyn.write("test_ok.wyn", 'println("b")\n// EXPECT: b\n')
    result = wyn.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*test_t.wyn:2*TIMEOUT needs a positive, finite number of seconds*{value!r}*"])
    assert "internal error" not in result.stdout.str()


def test_a_blank_environment_variable_counts_as_unset(wyn: WynProject) -> None:
    wyn.ini("wyn_timeout = 7\nwyn_remote_cache_write = true\n")
    settings = settings_with(
        wyn,
        PYTEST_WYN_TIMEOUT="  ",
        PYTEST_WYN_REMOTE_CACHE="http://127.0.0.1:9/",
        PYTEST_WYN_REMOTE_CACHE_WRITE=" ",
        PYTEST_WYN_WORKERS="",
    )
    assert settings.timeout == 7.0  # the ini's, not a usage error about "  "
    assert settings.remote is not None and settings.remote.write is True  # the ini's
    assert settings.workers == 12


def test_a_malformed_remote_url_is_refused_even_when_the_remote_is_switched_off(wyn: WynProject) -> None:
    """Issue 30.3: every row is parsed; a value that cannot be used is said, not left for a later session."""
    wyn.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", "ftp://cache.example/")
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    result = wyn.run("--wyn-no-remote-cache")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "wyn_remote_cache must be an http(s):// or redis:// URL, not 'ftp://cache.example/'" in result.stderr.str()
