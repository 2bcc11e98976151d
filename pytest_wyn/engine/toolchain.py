"""Find the Wyn compiler, identify it, and build its command lines.

The identity (a digest of the executable, the runtime files it compiles
against and its ``--version``) is part of every cache key, so it is computed
once per session by the controller and memoised per path, size and mtime.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from .digest import sha256_file
from .errors import TestError, UsageError
from .formats import strip_ansi
from .hostpaths import has_separator, local_compiler_names, split_command
from .process import child_env, run_bounded

DEFAULT_COMPILE_COMMAND = "{compiler} build {args} {source} -o {output}"


class NoCompilerFound(TestError):
    """No compiler was named and none was found: only the Wyn tests that run fail, each saying so."""


class ToolchainError(UsageError):
    """No usable compiler: the message says where we looked."""


@dataclass(frozen=True)
class Toolchain:
    path: str  # absolute path of the `wyn` we run
    found_by: str  # which setting or place named it
    version: str  # first line of `--version`, escapes stripped
    identity: str  # digest of everything about the compiler that shapes its output

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "found_by": self.found_by, "version": self.version, "identity": self.identity}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Toolchain:
        return cls(data["path"], data["found_by"], data["version"], data["identity"])


def find_compiler(option: str | None, ini: str | None, env: str | None, rootdir: Path) -> tuple[str, str]:
    """Path and provenance of the compiler, in the documented order."""
    looked: list[str] = []
    # Command line, then environment, then ini: a CI override always beats the project's file.
    for value, where in ((option, "--wyn-compiler"), (env, "environment variable WYN"), (ini, "ini wyn_compiler")):
        if value:
            resolved = _resolve(value, rootdir)
            if resolved is None:
                raise ToolchainError(f"{where} names {value!r}, which is not an executable file")
            return resolved, where
        looked.append(f"{where} (not set)")
    # Windows: wyn.exe, wyn.cmd, ... by PATHEXT; never a POSIX `wyn` script (every file passes X_OK there).
    names = local_compiler_names()
    for name in names:
        local = rootdir / name
        if local.is_file() and os.access(local, os.X_OK):
            return str(local), f"./{name} in the rootdir"
    looked.append(f"{rootdir / names[0]} (not found)")
    on_path = shutil.which("wyn")
    if on_path:
        return str(Path(on_path).absolute()), "wyn on PATH"
    looked.append("wyn on PATH (not found)")
    raise NoCompilerFound("no Wyn compiler found. Looked at, in order:\n  " + "\n  ".join(looked))


def _resolve(value: str, rootdir: Path) -> str | None:
    path = Path(value).expanduser()
    if not has_separator(value):
        found = shutil.which(value)
        if found:
            return str(Path(found).absolute())
        path = rootdir / value
    elif not path.is_absolute():
        path = rootdir / path
    if path.is_file() and os.access(path, os.X_OK):
        return str(path.absolute())
    return None


def read_version(path: str, cwd: str) -> str:
    done = run_bounded([path, "--version"], cwd=cwd, env=child_env(), timeout=30, limit=1 << 14)
    if done.launch_error:
        raise ToolchainError(f"cannot run the Wyn compiler {path}: {done.launch_error}")
    if done.timed_out:
        raise ToolchainError(f"the Wyn compiler {path} did not answer `--version` within 30 s")
    lines = [ln.strip() for ln in strip_ansi(done.text).splitlines() if ln.strip()]
    first = lines[0] if lines else "(no version output)"
    if done.returncode != 0:
        return f"{first} (`--version` exited {done.returncode})"
    return first


_digest_memo: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file, memoised per path, size and mtime."""
    st = path.stat()
    memo_key = (str(path), st.st_size, st.st_mtime_ns)
    cached = _digest_memo.get(memo_key)
    if cached is None:
        cached = sha256_file(path)
        _digest_memo[memo_key] = cached
    return cached


def runtime_root(compiler: str) -> Path | None:
    """Where Wyn finds its runtime: $WYN_ROOT, the executable's dir, or its parent."""
    exe_dir = Path(os.path.realpath(compiler)).parent
    candidates = [os.environ.get("WYN_ROOT"), str(exe_dir), str(exe_dir.parent)]
    for cand in candidates:
        if cand and (Path(cand) / "src" / "wyn_runtime.h").is_file():
            return Path(cand)
    return None


def runtime_files(root: Path) -> list[Path]:
    files = sorted((root / "src").glob("*.h")) + sorted((root / "runtime").glob("*.a"))
    return [f for f in files if f.is_file()]


def compiler_identity(path: str, version: str) -> str:
    h = hashlib.sha256()
    real = Path(os.path.realpath(path))
    h.update(f"exe {file_digest(real)}\nversion {version}\n".encode())
    root = runtime_root(path)
    if root is not None:
        for f in runtime_files(root):
            h.update(f"runtime {f.relative_to(root)} {file_digest(f)}\n".encode())
    return h.hexdigest()


def load_toolchain(option: str | None, ini: str | None, env: str | None, rootdir: Path) -> Toolchain:
    path, found_by = find_compiler(option, ini, env, rootdir)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ToolchainError(f"the Wyn compiler {path} is not a regular file")
    version = read_version(path, str(rootdir))
    return Toolchain(path, found_by, version, compiler_identity(path, version))


def c_compiler_choice(cwd: Path) -> str:
    """What decides the C compiler Wyn uses, by content: WYN_CC, else the first of cc, gcc, clang.

    WYN_CC goes into a shell command line as written, so its first word is
    resolved through PATH (or from ``cwd``) at build time: the key holds the
    digest of the executable it resolves to now, and of any argument that
    names a file (a ``-wrapper`` script), never just the string.
    """
    env = os.environ.get("WYN_CC")
    if env:
        words = split_command(env)
        parts = [f"WYN_CC={env}"]
        for n, word in enumerate(words):
            for candidate in word.split(","):
                found = _executable(candidate, cwd) if n == 0 else _existing_file(candidate, cwd)
                if found is not None:
                    parts.append(f"{candidate}={_digest_or_missing(found)}")
        return " ".join(parts)
    for name in ("cc", "gcc", "clang"):
        on_path = _executable(name, cwd)
        if on_path is not None:
            return f"{name}={_digest_or_missing(on_path)}"
    return "none"


def _executable(word: str, cwd: Path) -> Path | None:
    if has_separator(word):
        return _existing_file(word, cwd)
    found = shutil.which(word)
    return Path(os.path.realpath(found)) if found else None


def _existing_file(word: str, cwd: Path) -> Path | None:
    if not has_separator(word):
        return None
    path = Path(word) if os.path.isabs(word) else cwd / word
    return Path(os.path.realpath(path)) if path.is_file() else None


def _digest_or_missing(path: Path) -> str:
    try:
        return file_digest(path)
    except OSError:
        return "unreadable"


@dataclass(frozen=True)
class CompileCommand:
    template: tuple[str, ...]
    args: tuple[str, ...]
    output_template: str | None  # where the binary appears when {output} is not in the command

    @classmethod
    def parse(cls, command: str, args: list[str], output: str | None) -> CompileCommand:
        template = tuple(shlex.split(command or DEFAULT_COMPILE_COMMAND))
        if not any("{source}" in tok for tok in template):
            raise ToolchainError(f"wyn_compile_command must contain {{source}}: {command!r}")
        if not any("{output}" in tok for tok in template) and not output:
            raise ToolchainError(
                "wyn_compile_command has no {output}: set wyn_compile_output to where the binary appears"
            )
        return cls(template, tuple(args), output or None)

    def argv(self, compiler: str, source: str, output: str) -> list[str]:
        out: list[str] = []
        has_args = False
        for tok in self.template:
            if tok == "{args}":
                out.extend(self.args)
                has_args = True
                continue
            out.append(tok.replace("{compiler}", compiler).replace("{source}", source).replace("{output}", output))
        if not has_args:
            out.extend(self.args)
        return out

    def produced_path(self, source: str) -> str | None:
        """For commands without {output}: the path (from the cwd) the compiler writes."""
        if self.output_template is None:
            return None
        return self.output_template.replace("{source}", source).replace(
            "{stem}", source[:-4] if source.endswith(".wyn") else source
        )
