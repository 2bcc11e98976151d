"""Issue 30.4: the pytest side reaches the engine only through its front door, which loads nothing until asked."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest
from conftest import REPO

import pytest_wyn.engine as engine

PACKAGE = REPO / "pytest_wyn"
FRONT_DOOR = PACKAGE / "engine" / "__init__.py"


def pytest_side_modules() -> list[str]:
    return sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "engine" not in p.parts)


def test_the_pytest_side_imports_the_engine_only_through_its_front_door() -> None:
    behind: list[str] = []
    for name in pytest_side_modules():
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if (node.level and module.startswith("engine.")) or module.startswith("pytest_wyn.engine."):
                    behind.append(f"{name}:{node.lineno}: from {'.' * node.level}{module}")
                if node.level and module == "engine":
                    behind += [f"{name}:{node.lineno}: a module, {a.name}" for a in node.names if a.name not in engine._HOMES]
            elif isinstance(node, ast.Import):
                behind += [f"{name}:{node.lineno}: import {a.name}" for a in node.names if a.name.startswith("pytest_wyn.engine")]
    assert "items.py" in pytest_side_modules() and "workers/forecast.py" in pytest_side_modules()
    assert behind == []


def test_the_type_checkers_names_are_the_front_doors() -> None:
    """The imports under TYPE_CHECKING and ``_HOMES`` name the same things in the same modules."""
    tree = ast.parse(FRONT_DOOR.read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    typed = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names:
            assert alias.asname == alias.name  # `X as X`: re-exported, under its own name
            typed[alias.name] = node.module
    assert typed == engine._HOMES


def test_every_name_is_the_object_in_its_module() -> None:
    for name, module in engine._HOMES.items():
        assert getattr(engine, name) is getattr(importlib.import_module(f"pytest_wyn.engine.{module}"), name), name
    assert "Engine" in dir(engine)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        engine.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def printed_by(code: str) -> list[str]:
    """What the code prints, run in a fresh interpreter (its own sys.modules), word by word."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_opening_the_door_loads_only_what_is_asked_for() -> None:
    code = (
        "import sys\n"
        "import pytest_wyn.engine as e\n"
        "before = sorted(m for m in sys.modules if m.startswith('pytest_wyn.engine.'))\n"
        "e.DEFAULT_TIMEOUT\n"
        "after = sorted(m for m in sys.modules if m.startswith('pytest_wyn.engine.'))\n"
        "print(before, *(f'pytest_wyn.engine.{m}' in after for m in ('defaults', 'settings', 'build')))\n"
    )
    assert printed_by(code) == ["[]", "True", "False", "False"]  # a default: not the Settings class


def test_a_name_is_its_modules_object_after_the_module_is_loaded_again() -> None:
    """pytester's in-process runs unload the modules they loaded; the door must not hand out the old objects.

    (It did: a name was kept at its first use, and a list parsed in a later
    session came from a module no longer in ``sys.modules``.)
    """
    code = (
        "import importlib, sys\n"
        "import pytest_wyn.engine as e\n"
        "first = e.read_lists\n"
        "del sys.modules['pytest_wyn.engine.knownfail']\n"
        "again = e.read_lists\n"
        "print(again is not first, again is importlib.import_module('pytest_wyn.engine.knownfail').read_lists)\n"
    )
    assert printed_by(code) == ["True", "True"]
