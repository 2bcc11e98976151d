"""The second cache level: Wyn's C step, keyed on the generated C and served from the builder's process.

A compiler edit changes the first level's key (source + compiler) of every
file, yet most files' generated C stays byte for byte the same. Wyn runs
``$WYN_CC ARGS`` through the shell for its C step; pytest-wyn sets ``WYN_CC`` to
a small front (``FRONT``, written by ``clevel.py``) followed by the real C
compiler's words. The front starts fast (no import of pytest-wyn) and asks the
builder's process, on a loopback socket, what to do: ``done`` (the stored
binary is at the ``-o`` path already), or ``run`` (run the real compiler, then
say how it ended, so that a good binary is stored). Without an answer it runs
the real compiler itself, uncached.

The key, as ccache's: the real compiler by resolved path and content; every
argument but the ``-o`` path, any argument naming a file (the runtime library
``libwyn_rt.a``, a ``-wrapper`` script) by content; the platform. The C itself
and every header it reads come in one of two ways. The *preprocessor* key holds
the C compiler's own preprocessed output, which holds the source's bytes, its
path (``__FILE__``, line markers) and every header, system headers included. The
*direct* key, tried first, holds the source's path and bytes and the listing of
every ``-I`` folder; it points at the preprocessor key it was last seen with,
together with every file that preprocessing read (by content): it is used only
while all of those are unchanged. So an unchanged C file costs no preprocessing.
Only successful compiles are stored; a failure, real or the host's, is the real
compiler's own and passes through.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import CacheDirError, CorruptEntry, EntryMeta, Store, UnsafeEntry, copy_verified
from .remote.manifest import namespace
from .toolchain import file_digest

if TYPE_CHECKING:
    from .remote.signing import TrustedKeys
    from .remote.tier import RemoteCache

SERVER = "PYTEST_WYN_C_SERVER"  # host:port of the builder's process, for the front
TOKEN = "PYTEST_WYN_C_TOKEN"  # random per process: other local programs are not answered
GENERATE_ONLY = "PYTEST_WYN_C_GENERATE_ONLY"  # compile nothing (golden-C items want only the C)
FORMAT = "pytest-wyn-c-1"
LINK_SUFFIXES = (".a", ".o", ".so", ".lib", ".obj", ".dylib", ".dll")
# Options whose value is the next argument (as gcc and clang read them): kept beside it.
WITH_VALUE = frozenset(
    {"-I", "-D", "-U", "-include", "-imacros", "-isystem", "-iquote", "-idirafter", "-x", "-wrapper"}
)
_LINE_MARKER = re.compile(rb'^# \d+ "((?:[^"\\]|\\.)*)"', re.MULTILINE)

# The front, as Wyn's shell runs it (python -S -E FRONT ARGV...): the standard library only.
FRONT = f'''"""pytest-wyn's C-compiler front (written by pytest_wyn/engine/clevel.py; see engine/cfront.py)."""
import json, os, socket, subprocess, sys


def run(argv):
    try:
        return subprocess.run(argv).returncode
    except OSError as exc:
        sys.stderr.write("pytest-wyn C front: cannot start %s: %s\\n" % (argv[0], exc.strerror or exc))
        return 127


def main(argv):
    if os.environ.get("{GENERATE_ONLY}") == "1":
        return 0
    if not argv:
        sys.stderr.write("pytest-wyn C front: no C compiler named\\n")
        return 2
    host, _, port = os.environ.get("{SERVER}", "").rpartition(":")
    try:
        conn = socket.create_connection((host, int(port)), timeout=900)
    except (OSError, ValueError):
        return run(argv)  # no builder to ask: the C step as Wyn runs it
    with conn:
        stream = conn.makefile("rwb")
        ask = {{"token": os.environ.get("{TOKEN}", ""), "argv": argv, "cwd": os.getcwd()}}
        try:
            stream.write(json.dumps(ask).encode() + b"\\n")
            stream.flush()
            answer = stream.readline().strip()
        except OSError:
            answer = b""
        if answer == b"done":
            return 0
        code = run(argv)
        if answer == b"run":
            try:
                stream.write(b"%d\\n" % code)
                stream.flush()
                stream.readline()  # stored (or not) before Wyn goes on
            except OSError:
                pass
        return code


sys.exit(main(sys.argv[1:]))
'''


class Plan:
    """What one C-compiler command line does: its output, C sources, link inputs, and the preprocessing flags."""

    def __init__(self, argv: list[str]) -> None:
        self.output: str | None = None
        self.sources: list[str] = []
        self.keyed: list[str] = []  # the arguments as keyed (the -o value left out)
        self.cpp: list[str] = []  # the arguments a preprocessing run keeps
        self.include_dirs: list[str] = []
        self.cacheable = True
        words = argv[1:]
        n = 0
        while n < len(words):
            word = words[n]
            if word == "-o" and n + 1 < len(words):
                self.output = words[n + 1]
                self.keyed.append("-o <output>")
                n += 2
                continue
            if word in ("-c", "-E", "-S", "-M", "-MM", "-") or word.startswith(("@", "-o")):
                self.cacheable = False  # not the one-step compile and link Wyn runs
            if word in WITH_VALUE and n + 1 < len(words):
                self.keyed += [word, words[n + 1]]
                self.cpp += [word, words[n + 1]]
                if word in ("-I", "-isystem", "-iquote", "-idirafter"):
                    self.include_dirs.append(words[n + 1])
                n += 2
                continue
            self.keyed.append(word)
            if word.startswith("-I") and len(word) > 2:
                self.include_dirs.append(word[2:])
            if word.endswith(".c") and not word.startswith("-"):
                self.sources.append(word)
            elif not word.startswith(("-l", "-L", "-Wl,")) and not word.lower().endswith(LINK_SUFFIXES):
                self.cpp.append(word)
            n += 1
        if self.output is None or not self.sources:
            self.cacheable = False


class Keys:
    """The two keys of one C step, computed in the client's working directory."""

    def __init__(self, argv: list[str], plan: Plan, cwd: Path) -> None:
        self.argv, self.plan, self.cwd = argv, plan, cwd

    def _path(self, word: str) -> Path:
        return Path(word) if os.path.isabs(word) else self.cwd / word

    def _common(self) -> list[str] | None:
        real = shutil.which(self.argv[0], path=os.environ.get("PATH")) if os.sep not in self.argv[0] else None
        compiler = Path(real) if real else self._path(self.argv[0])
        if not compiler.is_file():
            return None
        lines = [FORMAT, f"namespace {namespace()}", f"cc {os.path.realpath(compiler)} {_digest(compiler)}"]
        for word in self.plan.keyed:
            lines.append(f"arg {word}")
            if not word.startswith("-") and word not in self.plan.sources and self._path(word).is_file():
                lines.append(f"file {word} {_digest(self._path(word))}")
        return lines

    def direct(self) -> str | None:
        """The key before preprocessing: the sources as bytes, the -I folders as listings."""
        lines = self._common()
        if lines is None:
            return None
        lines.append("direct")
        for source in self.plan.sources:
            lines.append(f"source {source} {_digest(self._path(source))}")
        for folder in self.plan.include_dirs:
            try:
                listing = sorted(os.listdir(self._path(folder)))
            except OSError:
                listing = ["<none>"]
            lines.append(f"listing {folder} {' '.join(listing)}")
        return _hash(lines)

    def preprocessed(self) -> tuple[str, list[str]] | None:
        """The preprocessor key and every file preprocessing read; None when it fails (the compile says why)."""
        lines = self._common()
        if lines is None:
            return None
        read: list[str] = []
        for source in self.plan.sources:
            done = subprocess.run([*self.argv[:1], *self.plan.cpp, "-E", source], cwd=self.cwd, capture_output=True)
            if done.returncode != 0:
                return None
            lines.append(f"cpp {source} {hashlib.sha256(done.stdout).hexdigest()}")
            for m in _LINE_MARKER.finditer(done.stdout):
                name = m.group(1).decode("utf-8", "surrogateescape")
                if not name.startswith("<"):
                    read.append(str(self._path(name).resolve()))
        return _hash(lines), sorted(set(read))


def _hash(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8", errors="surrogateescape")).hexdigest()


def _digest(path: Path) -> str:
    return file_digest(Path(os.path.realpath(path)))  # memoised by path, size and mtime


class CStepServer:
    """The builder's side: answers this process's fronts, one thread per compile."""

    def __init__(
        self, store: Store, trust: TrustedKeys | None = None, remote: RemoteCache | None = None
    ) -> None:
        self.store = store
        self.trust = trust
        self.remote = remote
        self.token = secrets.token_hex(16)
        self.counts = {"reused": 0, "compiled": 0}
        self._lock = threading.Lock()
        handle = self._handle

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                handle(self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="wyn-c-step", daemon=True).start()

    def env(self) -> dict[str, str]:
        return {SERVER: self.address, TOKEN: self.token}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _handle(self, rfile: Any, wfile: Any) -> None:
        try:
            ask = json.loads(rfile.readline(1 << 20))
            ok = isinstance(ask, dict) and hmac.compare_digest(str(ask.get("token", "")), self.token)
            argv, cwd = [str(a) for a in ask.get("argv", [])], Path(str(ask.get("cwd", ".")))
        except (ValueError, OSError, AttributeError, TypeError):
            return  # no answer: the front runs the compiler itself
        if not ok or not argv:
            return

        def say(word: bytes) -> None:
            wfile.write(word + b"\n")
            wfile.flush()

        try:
            self._serve(argv, cwd, say, rfile.readline)
        except (OSError, UnsafeEntry):
            pass  # the front went away, or the store failed: its compile stands on its own

    def _serve(self, argv: list[str], cwd: Path, say: Callable[[bytes], None], hear: Callable[[], bytes]) -> None:
        plan = Plan(argv)
        if not plan.cacheable or plan.output is None:
            say(b"uncached")
            return
        keys = Keys(argv, plan, cwd)
        output = keys._path(plan.output)
        direct = keys.direct()
        key = self._recalled(direct) if direct else None
        read: list[str] | None = None
        if key is None:
            made = keys.preprocessed()
            if made is None:
                say(b"uncached")
                return
            key, read = made
        with self.store.lock(key):
            if self._place(key, output):
                self._remember(direct, key, read)
                self._count("reused")
                say(b"done")
                return
            started = time.monotonic()
            say(b"run")
            code = int(hear().strip() or b"1")
            self._count("compiled")
            if code == 0 and output.is_file():
                self._publish(key, output, time.monotonic() - started)
                self._remember(direct, key, read)
                if self.remote is not None:
                    self.remote.offer(key)
        say(b"stored")

    def _place(self, key: str, output: Path) -> bool:
        """The stored binary at ``output``: from here, or fetched from the shared cache."""
        for attempt in range(2):
            try:
                entry = self.store.lookup(key)
            except CorruptEntry:
                entry = None
            if entry is not None and entry.meta.from_remote and not (
                self.trust is not None and self.trust.still_trusts(entry.meta.signer)
            ):
                entry = None  # fetched under a key no longer trusted: compiled again, and replaced
            if entry is not None and entry.binary is not None:
                if copy_verified(entry.binary, output, entry.meta.binary_sha256):
                    os.chmod(output, 0o755)
                    if self.remote is not None:
                        self.remote.offer(key)  # one of ours the shared cache may lack (never a fetched one)
                    return True
                self.store.discard(key)
            remote = self.remote
            if attempt or remote is None or not (remote.on and remote.reads) or not remote.fetch(key, locked=True):
                return False
        return False

    def _publish(self, key: str, binary: Path, seconds: float) -> None:
        staged = self.store.new_staging_dir()
        try:
            shutil.copyfile(binary, staged / "binary")
            os.chmod(staged / "binary", 0o700)
            self.store.publish(key, staged, EntryMeta("ok", seconds, 0, ""))
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    # The direct keys: a small JSON file each, under the store's root.

    def _manifest(self, direct: str) -> Path:
        return self.store.root / "direct" / direct[:2] / f"{direct}.json"

    def _recalled(self, direct: str) -> str | None:
        """The preprocessor key last seen for ``direct``, while every file it read is as it was."""
        try:
            seen = json.loads(self._manifest(direct).read_text(encoding="utf-8"))
            for path, digest in seen["read"]:
                if _digest(Path(path)) != digest:
                    return None
            return str(seen["key"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remember(self, direct: str | None, key: str, read: list[str] | None) -> None:
        if direct is None or read is None:
            return
        try:
            record = {"key": key, "read": [[path, _digest(Path(path))] for path in read]}
            target = self._manifest(direct)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            part = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
            part.write_text(json.dumps(record), encoding="utf-8")
            os.replace(part, target)
        except OSError:
            pass  # next time it is preprocessed again


def open_server(store_root: Path, trust: TrustedKeys | None, remote: RemoteCache | None) -> CStepServer | None:
    """The server over the second level's store; None when the store is unusable (compiles go on without)."""
    store = Store(store_root)
    try:
        store.prepare()
    except (OSError, CacheDirError):
        return None
    return CStepServer(store, trust, remote)
