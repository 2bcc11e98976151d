"""Where an ``import m`` is found, in the order ../shared/wyn-toolchain.md gives for Wyn v1.20.0.

Written from that description, not from the plugin's ``deps.py``: the tests
compare the two, and the real-toolchain group compares ``deps.py`` with real Wyn.
"""

from __future__ import annotations

import os

# {S}: the entry file's directory as passed to the compiler; {P}: its parent; {m}: the module path (a/b).
SEARCH_ORDER = (
    "{S}/{m}.wyn",
    "{P}/{m}.wyn",
    "{S}/modules/{m}.wyn",
    "{m}.wyn",  # the working directory
    "./modules/{m}.wyn",
    "./wyn_modules/{m}.wyn",
    "{PKG}/{m}.wyn",  # a wyn.toml [dependencies] entry, in ~/.wyn/pkg/<host>/<owner>/<repo>@<ref>/
    "{PKG}/src/{m}.wyn",
    "{PKG}/src/main.wyn",
    "./packages/{m}/{m}.wyn",
    "{S}/packages/{m}/{m}.wyn",
    "./packages/{m}.wyn",
    "{HOME}/.wyn/packages/{m}/{m}.wyn",
    "{HOME}/.wyn/modules/{m}.wyn",
    "/usr/local/lib/wyn/modules/{m}.wyn",
    "./stdlib/{m}.wyn",
    "../stdlib/{m}.wyn",
    "/tmp/wyn_modules/{m}.wyn",
)


def package_dir(name: str) -> str | None:
    """A ``[dependencies]`` entry ``name = "host/owner/repo[@ref]"`` of ./wyn.toml, as a package directory."""
    try:
        with open("wyn.toml", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    section = ""
    for line in (ln.strip() for ln in lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "dependencies" and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if key == name:
                spec, _, ref = value.strip('"').partition("@")
                root = os.environ.get("WYN_PKG_CACHE") or os.path.join(os.environ.get("HOME") or ".", ".wyn", "pkg")
                return f"{root}/{spec}@{ref or 'HEAD'}"
    return None


def find_module(name: str, source_dir: str) -> str | None:
    """The path (relative to the working directory, as the compiler opens it) of module ``name``."""
    parent = os.path.dirname(source_dir) if "/" in source_dir else None
    home = os.environ.get("HOME")
    package = package_dir(name)
    for template in SEARCH_ORDER:
        if ("{P}" in template and parent is None) or ("{HOME}" in template and not home):
            continue
        if "{PKG}" in template and package is None:
            continue
        path = template.format(S=source_dir, P=parent, m=name, HOME=home, PKG=package)
        if os.path.exists(path):
            return path
    return None
