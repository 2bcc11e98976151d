"""The cache key: a digest of everything a compiled binary depends on.

The source bytes and the path string passed to the compiler, every imported
module as Wyn resolves it (found or not), the compiler's identity, the C
compiler by content, ``wyn.toml``, the command and its arguments.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .deps import module_deps, package_dirs
from .digest import sha256_bytes
from .spec import SpecError, read_source
from .toolchain import CompileCommand, Toolchain, c_compiler_choice

FORMAT_VERSION = "pytest-wyn-cache-1"


@dataclass(frozen=True)
class KeyInputs:
    """Everything a compile's result depends on, except the file itself."""

    toolchain: str  # Toolchain.identity
    command: str
    c_compiler: str
    cwd: Path

    @classmethod
    def current(cls, toolchain: Toolchain, command: CompileCommand, cwd: Path) -> KeyInputs:
        described = f"{command.template!r} {command.args!r} {command.output_template!r}"
        return cls(toolchain.identity, described, c_compiler_choice(cwd), cwd)


def compute_key(inputs: KeyInputs, source: str, source_bytes: bytes) -> str:
    """The cache key of compiling ``source`` (as passed to the compiler)."""
    return keyed(inputs, source, source_bytes)[0]


def keyed(inputs: KeyInputs, source: str, source_bytes: bytes) -> tuple[str, list[str]]:
    """The cache key, and a warning for each module found where another user can write."""
    h = hashlib.sha256()
    notes: list[str] = []
    lines = [
        FORMAT_VERSION,
        f"toolchain {inputs.toolchain}",
        f"command {inputs.command}",
        f"cc {inputs.c_compiler}",
        f"source {source!r} {sha256_bytes(source_bytes)}",
    ]
    toml = inputs.cwd / "wyn.toml"
    try:
        lines.append(f"wyn.toml {sha256_bytes(read_source(toml))}")
    except (OSError, SpecError):
        lines.append("wyn.toml absent")
    for name, where in sorted(package_dirs(inputs.cwd).items()):
        # A package's own wyn.toml adds its [ffi] link flags to every build (wyn_deps_ffi_flags).
        try:
            lines.append(f"package {name} {where!r} wyn.toml {sha256_bytes(read_source(Path(where) / 'wyn.toml'))}")
        except (OSError, SpecError):
            lines.append(f"package {name} {where!r} no wyn.toml")
    text = source_bytes.decode("utf-8", errors="replace")
    for dep in module_deps(text, source, inputs.cwd):
        if dep.path is None:
            lines.append(f"module {dep.name} missing")
            continue
        full = dep.path if os.path.isabs(dep.path) else os.path.join(inputs.cwd, dep.path)
        try:
            data = read_source(full)
        except (OSError, SpecError):
            lines.append(f"module {dep.name} {dep.path!r} unreadable")
            continue
        lines.append(f"module {dep.name} {dep.path!r} {sha256_bytes(data)}")
        if dep.others_can_write:
            inside = not os.path.relpath(full, inputs.cwd).startswith(os.pardir)
            fix = (
                f"make it and its folder writable by you alone (chmod go-w {os.path.dirname(dep.path) or '.'})"
                if inside
                else "move the module into the project"
            )
            notes.append(
                f"module '{dep.name}' comes from {dep.path}, where another user can write: "
                f"they could plant code that this test compiles and runs; {fix}"
            )
    h.update("\n".join(lines).encode("utf-8", errors="surrogateescape"))
    return h.hexdigest(), notes
