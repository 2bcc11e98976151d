"""Which files a compile reads besides the entry file: Wyn's import resolution.

Mirrors the compiler (module.c at v1.20.0): a plain text scan for ``import ``
outside comments, then a search over a fixed list of candidate paths. A module
that is not found is recorded too, with the places tried, so that creating it
later changes the cache key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .spec import SpecError, read_source

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)
_IMPORT = re.compile(r"import [ \t]*(?:\{[^\n]*? from [ \t]*)?(root::|self::)?([A-Za-z0-9_.]+)")
_EXTENSIONS = (".wyn", ".\U0001f409")
MAX_MODULES = 500


@dataclass(frozen=True)
class ModuleDep:
    name: str  # as resolved by Wyn, e.g. "a/b"
    path: str | None  # the file found, as the compiler would open it; None: not found


def scan_imports(text: str) -> list[tuple[str, str]]:
    """(prefix, dotted name) for every ``import`` outside comments, as Wyn scans."""
    code = _COMMENTS.sub(lambda m: "\n" * m.group().count("\n"), text)
    return [(m.group(1) or "", m.group(2)) for m in _IMPORT.finditer(code)]


def _module_name(prefix: str, dotted: str, importer: str) -> str:
    name = dotted.replace(".", "/")
    if prefix == "self::" and "/" in importer:
        return importer.rsplit("/", 1)[0] + "/" + name
    return name


def _candidates(name: str, source_dir: str, cwd: Path) -> list[str]:
    s = source_dir
    first: list[str] = [f"{s}/{name}"]
    if "/" in s:
        first.append(f"{s.rsplit('/', 1)[0]}/{name}")
    first += [
        f"{s}/modules/{name}",
        name,
        f"./modules/{name}",
        f"./wyn_modules/{name}",
        f"./packages/{name}/{name}",
        f"{s}/packages/{name}/{name}",
        f"./packages/{name}",
    ]
    out = [base + ext for base in first for ext in _EXTENSIONS]
    home = os.environ.get("HOME")
    if home:
        out += [f"{home}/.wyn/packages/{name}/{name}.wyn", f"{home}/.wyn/modules/{name}.wyn"]
    out += [
        f"/usr/local/lib/wyn/modules/{name}.wyn",
        f"./stdlib/{name}.wyn",
        f"../stdlib/{name}.wyn",
        f"/tmp/wyn_modules/{name}.wyn",
    ]
    return out


def resolve(name: str, source_dir: str, cwd: Path) -> str | None:
    for cand in _candidates(name, source_dir, cwd):
        full = cand if os.path.isabs(cand) else os.path.join(cwd, cand)
        if os.path.exists(full):
            return cand
    return None


def module_deps(text: str, source: str, cwd: Path) -> list[ModuleDep]:
    """Every module the compile of ``source`` (relative to cwd) reads, transitively."""
    source_dir = os.path.dirname(source) or "."
    seen: dict[str, ModuleDep] = {}
    queue: list[tuple[str, str]] = [("", text)]  # (importer module name, its text)
    while queue and len(seen) < MAX_MODULES:
        importer, body = queue.pop(0)
        for prefix, dotted in scan_imports(body):
            name = _module_name(prefix, dotted, importer)
            if not name or name in seen:
                continue
            path = resolve(name, source_dir, cwd)
            seen[name] = ModuleDep(name, path)
            if path is not None:
                full = path if os.path.isabs(path) else os.path.join(cwd, path)
                try:
                    queue.append((name, read_source(full).decode("utf-8", errors="replace")))
                except (OSError, SpecError):
                    pass
    return list(seen.values())
