"""The stand-in toolchain's own tests: its import resolution (written from the toolchain notes,
compared here with the plugin's deps.py) and the command-line contract the plugin relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STANDIN

sys.path.insert(0, str(STANDIN.parent))
from standin.modules import find_module

from pytest_wyn.engine.deps import resolve

# Where `import m` from tests/unit/test_x.wyn finds m, when only that place has it (cwd = project root).
LAYOUTS = [
    "tests/unit/m.wyn",  # the entry file's directory
    "tests/m.wyn",  # its parent
    "tests/unit/modules/m.wyn",
    "m.wyn",  # the working directory
    "modules/m.wyn",
    "wyn_modules/m.wyn",
    "packages/m/m.wyn",
    "tests/unit/packages/m/m.wyn",
    "packages/m.wyn",
    "stdlib/m.wyn",
]


@pytest.mark.parametrize("where", LAYOUTS)
def test_each_place_of_the_search_order_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text("pub fn f() -> int {\n    return 1\n}\n")
    found = find_module("m", "tests/unit")
    assert found is not None and os.path.normpath(found) == os.path.normpath(where)
    assert os.path.normpath(resolve("m", "tests/unit", tmp_path) or "") == os.path.normpath(where)  # deps.py agrees


def test_the_first_place_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for where in ("modules/m.wyn", "tests/m.wyn", "wyn_modules/m.wyn"):
        (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / where).write_text("")
    assert find_module("m", "tests/unit") == "tests/m.wyn"
    assert resolve("m", "tests/unit", tmp_path) == "tests/m.wyn"
    assert find_module("nowhere", "tests/unit") is None


def test_the_command_line_contract(tmp_path: Path) -> None:
    (tmp_path / "t.wyn").write_text('test "a" {\n    assert(true)\n}\n')
    run = [sys.executable, str(STANDIN)]
    version = subprocess.run([*run, "--version"], capture_output=True, encoding="utf-8")
    assert version.returncode == 0 and "Wyn" in version.stdout and "v1.20.0" in version.stdout
    built = subprocess.run([*run, "build", "t.wyn", "-o", "out"], cwd=tmp_path, capture_output=True, encoding="utf-8")
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "t.wyn.c").exists()  # as Wyn: the generated C stays beside the source
    ran = subprocess.run([str(tmp_path / "out")], capture_output=True, encoding="utf-8")
    assert ran.returncode == 0 and "\x1b[32m\u2713\x1b[0m a" in ran.stdout
    (tmp_path / "bad.wyn").write_text("println(nope)\n")
    failed = subprocess.run([*run, "build", "bad.wyn", "-o", "bad"], cwd=tmp_path, capture_output=True, encoding="utf-8")
    assert failed.returncode == 1 and "Error at line 1: Undefined variable 'nope'" in failed.stderr


def test_the_c_compile_memo_reuses_only_the_same_c_flags_and_compiler(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    memo.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "WYN_CC"} | {"WYN_STANDIN_CC_MEMO": str(memo)}
    (tmp_path / "a.wyn").write_text("// EXPECT: 1\nprintln(1)\n")
    (tmp_path / "b.wyn").write_text("// EXPECT: 2\nprintln(2)\n")

    def build(name: str, *args: str, **extra: str) -> str:
        cmd = [sys.executable, str(STANDIN), "build", *args, f"{name}.wyn", "-o", f"{name}{len(list(memo.iterdir()))}"]
        done = subprocess.run(cmd, cwd=tmp_path, env=env | extra, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return subprocess.run([str(tmp_path / cmd[-1])], capture_output=True, text=True).stdout

    assert build("a") == "1\n"
    [kept_a] = memo.iterdir()
    assert build("b") == "2\n" and len(list(memo.iterdir())) == 2  # other C text
    [kept_b] = set(memo.iterdir()) - {kept_a}
    kept_a.write_bytes(kept_b.read_bytes())  # the memo now holds b's program under a's C
    assert build("a") == "2\n" and len(list(memo.iterdir())) == 2  # the same C: copied, not compiled
    assert build("a", "--release") == "1\n" and len(list(memo.iterdir())) == 3  # other flags: compiled
    assert build("a", WYN_CC="cc") == "1\n" and len(list(memo.iterdir())) == 3  # WYN_CC: compiled, never kept
