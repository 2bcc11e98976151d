"""Issue 22 (5): reporters show the `.wyn` line pytest-wyn reports, with the real plugins.

pytest-github-actions-annotate-failures is in the dev extra (it does nothing
outside GitHub Actions). pytest-pretty and pytest-rich change every pytest
run's output, so they live outside the venv, in ``.reporters`` (``.ci/run``
installs them there: ``pip install --no-deps --target .reporters ...``), and
only these tests put them on the path.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

import pytest
from conftest import REPO, WynProject

pytestmark = pytest.mark.all_plugins  # every installed plugin loads, as in a user's venv

REPORTERS = REPO / ".reporters"
needs_reporters = pytest.mark.skipif(
    not (REPORTERS / "pytest_pretty").is_dir() or not (REPORTERS / "pytest_rich").is_dir(),
    reason="pytest-pretty and pytest-rich are not in .reporters (.ci/run installs them there)",
)


def _failing_files(wyn: WynProject) -> None:
    wyn.write("test_out.wyn", 'println("x")\n// EXPECT: y\n')
    wyn.write(
        "test_panic.wyn", 'test "ok" {\n    assert(true)\n}\ntest "boom" {\n    var a = [1, 2]\n    println(a[5])\n}\n'
    )
    wyn.write("test_compile.wyn", 'println("fine")\nprintln(nope)\n')


@pytest.mark.parametrize("mode", [["-n0"], ["-n", "2"]], ids=["serial", "xdist"])
def test_github_annotations_point_at_the_wyn_line(wyn: WynProject, mode: list[str]) -> None:
    _failing_files(wyn)
    wyn.monkeypatch.setenv("GITHUB_ACTIONS", "true")
    wyn.monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    result = wyn.run_subprocess(*mode, "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=3)
    text = result.stdout.str() + result.stderr.str()
    assert "::error file=test_out.wyn,line=2::" in text
    assert "::error file=test_panic.wyn,line=6::" in text  # the line the panic names, not the block's
    assert "::error file=test_compile.wyn,line=2::" in text


@needs_reporters
def test_pytest_pretty_shows_the_error_line(wyn: WynProject) -> None:
    _failing_files(wyn)
    wyn.monkeypatch.setenv("PYTHONPATH", str(REPORTERS))
    wyn.monkeypatch.setenv("COLUMNS", "200")
    result = wyn.run_subprocess("-n0", "-p", "no:randomly", "-p", "no:rich")
    text = result.stdout.str()
    # Columns: File, Function, Function Line, Error Line, Error.
    assert re.search(r"test_out\.wyn\s*│\s*test_out\s*│\s*1\s*│\s*2\s*│\s*output line 1 differs", text), text
    assert re.search(r"test_panic\.wyn\s*│\s*test 'boom'\s*│\s*4\s*│\s*6\s*│\s*panic: array index", text), text


@needs_reporters
@pytest.mark.skipif(
    shutil.which("script") is None, reason="needs script(1) for a terminal: pytest-rich is on only there"
)
def test_pytest_rich_shows_the_failure_text(wyn: WynProject) -> None:
    _failing_files(wyn)
    env = dict(os.environ, PYTHONPATH=str(REPORTERS))
    command = shlex.join([sys.executable, "-m", "pytest", "-n0", "-p", "no:randomly", "-p", "no:pretty", "--rich"])
    import subprocess

    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"], cwd=wyn.path, env=env, capture_output=True, text=True, timeout=300
    )
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stdout)
    assert "INTERNALERROR" not in text and "SyntaxError" not in text, text
    assert "test_out.wyn:2: output line 1 differs from EXPECT at line 2" in text
    assert "test_panic.wyn:6: panic: array index out of bounds" in text


def test_a_compile_error_reads_error_first_and_the_raw_output_is_kept(wyn: WynProject) -> None:
    # The stand-in prints checker errors on stderr after its progress line; a warning and chatter
    # around them are Wyn's own (a warning on stderr, "Compilation failed" and the mascot).
    wyn.write("test_a.wyn", "var unused = 1\nprintln(nope)\n")
    result = wyn.run()
    result.assert_outcomes(failed=1)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("compile error:"))
    body = lines[start : next(i for i in range(start, len(lines)) if lines[i].startswith("test_a.wyn:2:"))]
    shown = [line.strip() for line in body if line.strip()]
    assert shown[1].startswith("Error at line 2: Undefined variable 'nope'"), shown
    assert not any(line.startswith(("Building", "Compilation failed", "Wynter")) for line in shown), shown
    result.stdout.fnmatch_lines(
        ["*Captured wyn compile output call*", "Building test_a.wyn...", "*Compilation failed*"]
    )
