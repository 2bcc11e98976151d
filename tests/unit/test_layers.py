"""Issue 20: the engine imports neither pytest nor anything above it."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

ENGINE = REPO / "pytest_wyn" / "engine"
WINDOWS_ONLY = {"pytest_wyn.engine.process.win32", "pytest_wyn.engine.winsec"}
POSIX_ONLY = {"pytest_wyn.engine.process.posix"}  # it asserts its platform, as win32.py does


def engine_modules() -> list[str]:
    names = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ENGINE.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name in (POSIX_ONLY if sys.platform == "win32" else WINDOWS_ONLY):
            continue  # the other platform's back-end: it refuses to import here
        names.append(name)
    return names


def test_every_engine_module_imports_with_pytest_blocked() -> None:
    modules = engine_modules()
    assert ("pytest_wyn.engine.process.win32" if sys.platform == "win32" else "pytest_wyn.engine.process.posix") in modules
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None\n"
        "sys.modules['_pytest'] = None\n"
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "above = sorted(m for m in sys.modules if m.startswith('pytest_wyn.') and not m.startswith('pytest_wyn.engine'))\n"
        "print(above)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # nothing above the engine was imported by it
