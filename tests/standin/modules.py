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
    "./packages/{m}/{m}.wyn",
    "{S}/packages/{m}/{m}.wyn",
    "./packages/{m}.wyn",
    "{HOME}/.wyn/packages/{m}/{m}.wyn",
    "{HOME}/.wyn/modules/{m}.wyn",
    "/usr/local/lib/wyn/modules/{m}.wyn",
    "./stdlib/{m}.wyn",
    "../stdlib/{m}.wyn",
)


def find_module(name: str, source_dir: str) -> str | None:
    """The path (relative to the working directory, as the compiler opens it) of module ``name``."""
    parent = os.path.dirname(source_dir) if "/" in source_dir else None
    home = os.environ.get("HOME")
    for template in SEARCH_ORDER:
        if ("{P}" in template and parent is None) or ("{HOME}" in template and not home):
            continue
        path = template.format(S=source_dir, P=parent, m=name, HOME=home)
        if os.path.exists(path):
            return path
    return None
