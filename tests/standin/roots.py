"""The stand-in's runtime root, laid out as Wyn's: ROOT/src/wyn_runtime.h and, if present, ROOT/runtime/libwyn_rt.a.

$WYN_ROOT names one (a test's own copy, with an edited header or a runtime library); otherwise the
stand-in's default root is written from RUNTIME_HEADER under tests/standin/.root/ (ignored by git), whole
or not at all, whenever it differs: the header's text lives in compiler.py, so the stand-in's version
(a digest of its sources) changes with it.
"""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def runtime_root() -> str:
    given = os.environ.get("WYN_ROOT")
    if given and os.path.isfile(os.path.join(given, "src", "wyn_runtime.h")):
        return given
    from .compiler import RUNTIME_HEADER

    root = os.path.join(HERE, ".root")
    header = os.path.join(root, "src", "wyn_runtime.h")
    try:
        with open(header, encoding="utf-8") as f:
            if f.read() == RUNTIME_HEADER:
                return root
    except OSError:
        pass
    os.makedirs(os.path.dirname(header), exist_ok=True)
    part = f"{header}.{os.getpid()}.part"
    with open(part, "w", encoding="utf-8") as f:
        f.write(RUNTIME_HEADER)
    os.replace(part, header)
    return root


def link_inputs(root: str) -> list[str]:
    """The runtime library on the link line, as Wyn puts ROOT/runtime/libwyn_rt.a there (when it exists)."""
    lib = os.path.join(root, "runtime", "libwyn_rt.a")
    return [lib] if os.path.isfile(lib) else []
