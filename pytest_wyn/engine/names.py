"""Item names for test blocks: safe in a nodeid, close to what was written.

A nodeid is split on ``::``, ``[...]`` reads as parameters, and IDEs and
shells choke on newlines and outer spaces. Those characters are written as
Python-style escapes (``\\x3a``, ``\\x5b``, ``\\x5d``, ``\\n``, ``\\t``,
``\\x20``) and a backslash as ``\\\\``, so a name stays readable and the mapping
can be undone. The second block of one name gets ``#2``, the third ``#3``
(or the next number no other block's name has).
"""

from __future__ import annotations

from collections.abc import Iterator

from .spec import Block

_CHARS = {"\\": "\\\\", "[": "\\x5b", "]": "\\x5d", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\x00"}


def safe_name(name: str) -> str:
    out = "".join(_CHARS.get(c, c) for c in name)
    out = out.replace("::", ":\\x3a")
    stripped = out.strip(" ")
    if stripped != out:
        lead = len(out) - len(out.lstrip(" "))
        trail = len(out) - len(out.rstrip(" "))
        out = "\\x20" * lead + stripped + "\\x20" * trail
    return out or "(empty name)"


def item_names(blocks: list[Block]) -> Iterator[tuple[str, Block, int]]:
    """(node-id name, block, index) for each block: unique whatever the names written.

    The suffix is chosen after every name is known, so that a block named
    ``a#2`` and a second ``a`` never share an id (``a#3`` then).
    """
    bases = [safe_name(block.name) for block in blocks]
    taken = set(bases)
    used: set[str] = set()
    for index, (base, block) in enumerate(zip(bases, blocks, strict=True)):
        name = base
        if name in used:
            n = 2
            while f"{base}#{n}" in taken:
                n += 1
            name = f"{base}#{n}"
            taken.add(name)
        used.add(name)
        yield name, block, index
