"""Issue 10: the mistakes a new user makes are named, not passed over in silence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, WynProject

HELLO = '// EXPECT: hello\nprintln("hello")\n'
README = REPO / "README.md"
CONFIGURATION = REPO / "docs" / "configuration.md"  # the settings table's page (settings_table.readme_table)


def test_wyn_files_with_the_plugin_off_get_a_one_line_hint(wyn: WynProject) -> None:
    wyn.pytester.makeini("[pytest]\n")  # pytest-wyn installed, but not switched on
    wyn.write("tests/test_a.wyn", HELLO)
    result = wyn.run()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        [
            "pytest-wyn: tests/test_a.wyn is a Wyn test file, but pytest-wyn is off: run `pytest --wyn`, "
            "or add `wyn = true` to your pytest configuration"
        ]
    )
    result = wyn.run("tests/test_a.wyn")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["pytest-wyn: tests/test_a.wyn is a Wyn test file, but pytest-wyn is off*"])
    wyn.run("--wyn").assert_outcomes(passed=1)


def test_a_project_without_wyn_files_sees_nothing_of_the_plugin(wyn: WynProject) -> None:
    wyn.pytester.makeini("[pytest]\n")
    wyn.write("test_py.py", "def test_x():\n    pass\n")
    result = wyn.run()
    result.assert_outcomes(passed=1)
    assert not re.search(r"^wyn|pytest-wyn:", result.stdout.str(), re.MULTILINE)  # no header, no hint
    wyn.write("test_py.py", "")
    result = wyn.run()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "pytest-wyn:" not in result.stdout.str()


@pytest.mark.parametrize("option", ["--wyn-compiler", "--wyn-cache-dir"])
def test_a_wyn_option_given_with_a_space_is_a_usage_error_showing_the_equals_form(
    wyn: WynProject, tmp_path: Path, option: str
) -> None:
    wyn.write("test_a.wyn", HELLO)
    value = str(wyn.compiler) if option == "--wyn-compiler" else str(tmp_path / "cache")
    Path(value).mkdir(exist_ok=True) if option == "--wyn-cache-dir" else None
    result = wyn.run_subprocess(option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-wyn: write {option}={value} (with '='). With a space, pytest takes*"])
    wyn.run_subprocess(f"{option}={value}").assert_outcomes(passed=1)


def test_wyn_warnings_are_located_once_and_can_fail_the_run(wyn: WynProject) -> None:
    wyn.write("test_typo.wyn", 'println("hi")\n// EXPCET: hi\n')
    result = wyn.run()
    result.assert_outcomes(passed=1, warnings=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*test_typo.wyn:2: WynWarning: unknown directive EXPCET: (did you mean EXPECT:?)"])
    assert ":0" not in out and out.count("test_typo.wyn:2") == 2  # the group heading and the warning itself
    result = wyn.run("-W", "error::pytest_wyn.WynWarning")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*WynWarning: unknown directive EXPCET*"])
    wyn.ini("filterwarnings = error::pytest_wyn.WynWarning\n")
    assert wyn.run().ret != pytest.ExitCode.OK


def test_a_collection_warning_is_shown_once_under_many_workers(wyn: WynProject) -> None:
    wyn.write("test_typo.wyn", 'println("hi")\n// EXPCET: hi\n')
    for n in range(3):
        wyn.write(f"test_{n}.wyn", HELLO)
    result = wyn.run_subprocess("-n", "3")
    result.assert_outcomes(passed=4, warnings=1)
    assert result.stdout.str().count("unknown directive EXPCET") == 1


def test_a_timeout_says_how_to_raise_the_limit(wyn: WynProject) -> None:
    wyn.write("test_slow.wyn", "// TIMEOUT: 0.5\nwhile true {\n}\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*timed out after 0.5 s; * killed (raise the limit with // TIMEOUT: N in the file, or --wyn-timeout=S)"]
    )


def test_a_compile_error_shows_the_source_line_once(wyn: WynProject) -> None:
    wyn.write("test_bad.wyn", 'println("fine")\nprintln(nope)\n')
    result = wyn.run()
    result.assert_outcomes(failed=1)
    assert len(re.findall(r"^\s*>?\s*2 \| println\(nope\)", result.stdout.str(), re.MULTILINE)) == 1


def test_every_option_in_help_is_in_the_readme_table_and_the_reverse(wyn: WynProject) -> None:
    help_text = wyn.run("--help").stdout.str()
    in_help = set(re.findall(r"(--wyn[a-z-]*)", help_text)) | set(re.findall(r"^  (wyn[a-z_]*) \(", help_text, re.M))
    table = CONFIGURATION.read_text().split("# Configuration", 1)[1].split("\n# ", 1)[0]
    in_table = set(re.findall(r"`(--wyn[a-z-]*)", table)) | set(re.findall(r"^\| `(wyn[a-z_]*)`", table, re.M))
    assert in_help == in_table


def test_the_readme_table_is_generated_from_the_settings_table() -> None:
    """One table (pytest_wyn/settings_table.py) makes --help, the reader's sources and the README's table."""
    from pytest_wyn.settings_table import SETTINGS, readme_table

    assert readme_table() in CONFIGURATION.read_text()
    names = [s.ini or s.option or s.env for s in SETTINGS]
    assert len(names) == len(set(names))  # every row names one setting


def test_a_copy_of_the_example_outside_the_repository_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import subprocess
    import sys

    example = tmp_path / "example"
    shutil.copytree(README.parent / "example_project", example)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no wyn on PATH
    monkeypatch.delenv("WYN_REAL", raising=False)
    monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n0", "-p", "no:cacheprovider", "-o", "wyn_compile_retries=0"],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "example_project/wyn: no Wyn compiler found" in done.stdout
    assert "can't open file" not in done.stdout + done.stderr


def test_the_wyn_summary_follows_its_header_with_no_blank_line(wyn: WynProject) -> None:
    """Issue 31.7: under -v the section started with a stray blank line."""
    wyn.write("test_a.wyn", 'println("a")\n// EXPECT: a\n')
    for args in (("-v",), ()):
        lines = wyn.run(*args).outlines
        header = next(n for n, line in enumerate(lines) if line.strip("- ") == "wyn")
        assert lines[header + 1].startswith("compiled 1 file(s)") or lines[header + 1].startswith("compiled 0 file(s)")


def test_a_python_only_session_imports_no_engine(pytester: pytest.Pytester) -> None:
    """Issue 30.7: installing pytest-wyn cost every pytest run of a Python-only project about 100 ms of CPU."""
    pytester.makepyfile(test_a="def test_a():\n    assert True\n")
    pytester.makeconftest(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    names = sorted(m for m in sys.modules if m.startswith('pytest_wyn'))\n"
        "    print('LOADED', ' '.join(names))\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-s")
    result.assert_outcomes(passed=1)
    loaded = next(line for line in result.outlines if line.startswith("LOADED")).split()[1:]
    for heavy in ("pytest_wyn.hooks", "pytest_wyn.startup", "pytest_wyn.engine.session", "pytest_wyn.engine.build",
                  "pytest_wyn.engine.runner", "pytest_wyn.engine.remote.tier"):
        assert heavy not in loaded, loaded
    assert "pytest_wyn.plugin" in loaded


def test_a_session_without_wyn_tests_loads_only_the_settings_table(pytester: pytest.Pytester) -> None:
    """Issue 30.7, no cost when off: installed in a Python-only project, pytest-wyn reads its settings table.

    It loads the table, its parsers and the engine's light modules (the
    defaults, the errors, the shared cache's address), and nothing that builds
    the engine's classes: not ``Settings``, the store, the remote tier or the hooks.
    """
    loaded = pytester.path / "loaded.txt"
    pytester.makeconftest(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        f"    with open({str(loaded)!r}, 'w') as f:\n"
        "        f.write(' '.join(sorted(m for m in sys.modules if m.startswith('pytest_wyn'))))\n"
    )
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
    assert loaded.read_text().split() == [
        "pytest_wyn",
        "pytest_wyn.engine",
        "pytest_wyn.engine.defaults",
        "pytest_wyn.engine.errors",
        "pytest_wyn.engine.remote",
        "pytest_wyn.engine.remote.address",
        "pytest_wyn.mistakes",
        "pytest_wyn.options",
        "pytest_wyn.plugin",
        "pytest_wyn.setting_values",
        "pytest_wyn.settings_table",
    ]
