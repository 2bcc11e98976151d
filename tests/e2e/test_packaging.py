"""The sdist (issue 31.8): what it carries, what it leaves out, and its metadata."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import REPO


def tracked_files() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout:
        pytest.skip("not a git checkout (an sdist's own tests): nothing to build an sdist from")
    return done.stdout.splitlines()


def test_the_sdist_leaves_out_caches_and_says_what_it_is(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="the dev extra installs build")
    copy = tmp_path / "checkout"
    for name in tracked_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    # What a working tree has after a run of the example project and of the stand-in:
    (copy / "example_project" / ".pytest_cache" / "v").mkdir(parents=True)
    (copy / "example_project" / ".pytest_cache" / "v" / "junk").write_text("x")
    (copy / "tests" / "standin" / ".root" / "src").mkdir(parents=True)
    (copy / "tests" / "standin" / ".root" / "src" / "wyn_runtime.h").write_text("/* generated */\n")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(copy)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [sdist] = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        info = next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO") and m.name.count("/") == 1)
        metadata = tar.extractfile(info).read().decode()  # type: ignore[union-attr]
    assert not [n for n in names if ".pytest_cache" in n or "/.root/" in n or "__pycache__" in n]
    assert any(n.endswith("/tests/wyn_standin.py") for n in names)
    assert any(n.endswith("/example_project/tests/test_hello.wyn") for n in names)
    for classifier in (
        "Framework :: Pytest",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.13",
        "Operating System :: Microsoft :: Windows",
        "Development Status :: 4 - Beta",
    ):
        assert f"Classifier: {classifier}" in metadata
    assert "License-Expression: MIT" in metadata
