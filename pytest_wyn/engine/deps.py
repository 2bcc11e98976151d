"""Which files a compile reads besides the entry file: Wyn's import resolution.

Mirrors the compiler (module.c at v1.20.0): a plain text scan for ``import ``
outside comments, then a search over a fixed list of candidate paths. A module
that is not found is recorded too, with the places tried, so that creating it
later changes the cache key.
"""

from __future__ import annotations

import os
import re
import stat
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
    others_can_write: bool = False  # found where another user can write (/tmp/wyn_modules, say)


OFFICIAL_HOST, OFFICIAL_OWNER = "github.com", "wynlang"  # a bare package name's home (pkgspec.h)


def toml_dependencies(cwd: Path) -> dict[str, str]:
    """``[dependencies]`` of ``wyn.toml`` in cwd, read as Wyn's own parser reads it (toml.c)."""
    try:
        text = read_source(cwd / "wyn.toml").decode("utf-8", errors="replace")
    except (OSError, SpecError):
        return {}
    section = ""
    deps: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if "]" in line:
                section = line[1 : line.index("]")]
            continue
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if value.startswith('"'):
            value = value[1:].split('"', 1)[0]
        if section == "dependencies":
            deps.setdefault(key.strip(), value)
    return deps


def package_dir(name: str, value: str) -> str | None:
    """Where Wyn keeps the package a ``[dependencies]`` entry names (pkgspec.c), or None if it is not one."""
    if value.startswith("{") and "git" in value:  # legacy `{ git = "URL" }`
        quoted = value[value.index("git") :].split('"')
        value = quoted[1] if len(quoted) > 2 else value
    if not value or value[0] in "./~":
        return None
    work, ref = value, ""
    at, slash = work.rfind("@"), work.rfind("/")
    if at >= 0 and (slash < 0 or at > slash):
        work, ref = work[:at], work[at + 1 :]
    if "://" in work:
        skeleton = work.split("://", 1)[1]
        auth, first_slash = skeleton.find("@"), skeleton.find("/")
        if auth >= 0 and (first_slash < 0 or auth < first_slash):
            skeleton = skeleton[auth + 1 :]
    elif work.startswith("git@"):
        skeleton = work[4:].replace(":", "/", 1)
    elif "/" in work and "." in work and work.index(".") < work.index("/"):
        skeleton = work
    elif "/" in work or not work:
        return None
    else:
        skeleton = f"{OFFICIAL_HOST}/{OFFICIAL_OWNER}/{work}"
    if "/" not in skeleton:
        return None
    host, rest = skeleton.split("/", 1)
    owner, _, repo = rest.rpartition("/")
    repo = repo[:-4] if repo.endswith(".git") else repo
    if not repo:
        return None
    root = os.environ.get("WYN_PKG_CACHE") or f"{os.environ.get('HOME') or '.'}/.wyn/pkg"
    return "/".join(part for part in (root, host, owner, f"{repo}@{ref or 'HEAD'}") if part)


def package_dirs(cwd: Path) -> dict[str, str]:
    """Import name -> package directory, for every ``[dependencies]`` entry Wyn can resolve."""
    found = {}
    for name, value in toml_dependencies(cwd).items():
        where = package_dir(name, value)
        if where is not None:
            found[name] = where
    return found


def scan_imports(text: str) -> list[tuple[str, str]]:
    """(prefix, dotted name) for every ``import`` outside comments, as Wyn scans."""
    code = _COMMENTS.sub(lambda m: "\n" * m.group().count("\n"), text)
    return [(m.group(1) or "", m.group(2)) for m in _IMPORT.finditer(code)]


def _module_name(prefix: str, dotted: str, importer: str) -> str:
    name = dotted.replace(".", "/")
    if prefix == "self::" and "/" in importer:
        return importer.rsplit("/", 1)[0] + "/" + name
    return name


def _candidates(name: str, source_dir: str, cwd: Path, packages: dict[str, str] | None = None) -> list[str]:
    """Every path Wyn tries for module ``name``, in its order (module.c ``resolve_module_path``)."""
    s = source_dir
    first: list[str] = [f"{s}/{name}"]
    if "/" in s:
        first.append(f"{s.rsplit('/', 1)[0]}/{name}")
    first += [
        f"{s}/modules/{name}",
        name,
        f"./modules/{name}",
        f"./wyn_modules/{name}",
    ]
    package = (package_dirs(cwd) if packages is None else packages).get(name)
    if package is not None:  # a wyn.toml dependency, in Wyn's package cache (wyn_dep_resolve)
        first += [f"{package}/{name}", f"{package}/src/{name}", f"{package}/src/main"]
    first += [
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


def resolve(name: str, source_dir: str, cwd: Path, packages: dict[str, str] | None = None) -> str | None:
    for cand in _candidates(name, source_dir, cwd, packages):
        full = cand if os.path.isabs(cand) else os.path.join(cwd, cand)
        if os.path.exists(full):
            return cand
    return None


def others_can_write(path: str) -> bool:
    """Whether another user could have put this file there or changed it (a planted module).

    The file must be ours (or root's) and not group- or world-writable; its
    directory too, unless it is sticky (as /tmp), where others cannot replace it.
    """
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return False  # Windows: no owner ids in os.stat
    me = getuid()
    try:
        st = os.stat(path)
        parent = os.stat(os.path.dirname(path) or ".")
    except OSError:
        return False
    if st.st_uid not in (me, 0) or st.st_mode & 0o022:
        return True
    if parent.st_uid not in (me, 0):
        return True
    return bool(parent.st_mode & 0o022) and not parent.st_mode & stat.S_ISVTX


def module_deps(text: str, source: str, cwd: Path) -> list[ModuleDep]:
    """Every module the compile of ``source`` (relative to cwd) reads, transitively."""
    source_dir = os.path.dirname(source) or "."
    packages = package_dirs(cwd)
    seen: dict[str, ModuleDep] = {}
    queue: list[tuple[str, str]] = [("", text)]  # (importer module name, its text)
    while queue and len(seen) < MAX_MODULES:
        importer, body = queue.pop(0)
        for prefix, dotted in scan_imports(body):
            name = _module_name(prefix, dotted, importer)
            if not name or name in seen:
                continue
            path = resolve(name, source_dir, cwd, packages)
            full = "" if path is None else path if os.path.isabs(path) else os.path.join(cwd, path)
            seen[name] = ModuleDep(name, path, bool(full) and others_can_write(full))
            if path is not None:
                try:
                    queue.append((name, read_source(full).decode("utf-8", errors="replace")))
                except (OSError, SpecError):
                    pass
    return list(seen.values())
