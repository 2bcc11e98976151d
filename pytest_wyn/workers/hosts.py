"""Which xdist workers run on another machine: told by the gateway's spec, never guessed.

A ``popen`` gateway starts its Python on this machine (whatever its
``python=`` or ``chdir=``); ``ssh``, ``vagrant_ssh`` and ``socket`` gateways
reach another one, which has its own compiler, cache and lock folder (the
worker finds them, see session.py). execnet is xdist's own dependency.
"""

from __future__ import annotations

from typing import Any

import pytest

THIS_MACHINE = "this machine"


def is_elsewhere(spec: Any) -> bool:
    """The gateway (an execnet XSpec) reaches another machine."""
    return bool(getattr(spec, "ssh", None) or getattr(spec, "vagrant_ssh", None) or getattr(spec, "socket", None))


def host_label(spec: Any) -> str:
    """How the summary names a worker's machine: ``this machine``, ``ssh=host``, ``socket=host:port``."""
    for kind in ("ssh", "vagrant_ssh", "socket"):
        value = getattr(spec, kind, None)
        if value:
            return f"{kind}={value}"
    return THIS_MACHINE


def gateway_specs(config: pytest.Config) -> list[Any]:
    """The ``--tx`` gateways the user named (none: xdist starts local workers, or none at all)."""
    import execnet

    specs = []
    for text in getattr(config.option, "tx", None) or ():
        count, _, spec = text.rpartition("*")
        specs += [execnet.XSpec(spec)] * (int(count) if count.isdigit() else 1)
    return specs


def only_elsewhere(config: pytest.Config) -> bool:
    """Every worker the user named runs on another machine: this one runs no Wyn test."""
    specs = gateway_specs(config)
    return bool(specs) and all(is_elsewhere(spec) for spec in specs)
