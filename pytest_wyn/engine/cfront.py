"""The second cache level: a C-compiler front that ``wyn build`` runs as ``WYN_CC``.

A compiler edit changes the first level's key (source + compiler) of every
file, yet most files' generated C stays byte for byte the same. Wyn runs
``$WYN_CC ARGS`` through the shell for its C step; pytest-wyn sets ``WYN_CC`` to
this front followed by the real C compiler's words (the user's own ``WYN_CC``,
or the first of cc, gcc, clang, as Wyn picks). The front keys the C step and
either places the stored binary at the ``-o`` path or runs the real compiler
and stores what it made.

The key (preprocessor mode, as ccache's): the real compiler by resolved path
and content; every argument but the ``-o`` path, with any argument naming a
file hashed by content (the runtime library ``libwyn_rt.a``, a ``-wrapper``
script); and for each C source the compiler's own preprocessed output, which
holds the source's bytes, its path (``__FILE__``, line markers) and every
header the compile reads, system headers included; the platform namespace.
Only successful compiles are stored; a failure (real, or the host's) is the
real compiler's own, passed through.

Environment (set by ``build.py`` for each compile): ``PYTEST_WYN_C_STORE``, the
level's store; ``PYTEST_WYN_C_LOG``, a file that gets ``reused KEY`` or
``compiled KEY`` (or ``uncached``), read back for the summary and the shared
cache; ``PYTEST_WYN_C_GENERATE_ONLY=1``, compile nothing (golden-C items want
only the C); ``PYTEST_WYN_C_FETCH`` (and its token), where the builder's process
fetches an entry from the shared cache on a local miss (cfetch.py);
``PYTEST_WYN_C_TRUSTED``, the signers (hex) whose fetched entries may still be
served: one fetched under a key since revoked or untrusted is a miss.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import cfetch
from .cache import CacheDirError, CorruptEntry, EntryMeta, Store, copy_verified
from .remote.manifest import namespace

STORE = "PYTEST_WYN_C_STORE"
LOG = "PYTEST_WYN_C_LOG"
GENERATE_ONLY = "PYTEST_WYN_C_GENERATE_ONLY"
TRUSTED = "PYTEST_WYN_C_TRUSTED"
FETCH_WAIT = 120.0  # the builder's fetch is bounded by the tier's own deadlines; this only guards a lost answer
FORMAT = "pytest-wyn-c-1"
LINK_SUFFIXES = (".a", ".o", ".so", ".lib", ".obj", ".dylib", ".dll")
# Options whose value is the next argument (as gcc and clang read them): kept beside it.
WITH_VALUE = frozenset(
    {"-I", "-D", "-U", "-include", "-imacros", "-isystem", "-iquote", "-idirafter", "-x", "-wrapper"}
)


class Plan:
    """What one C-compiler command line does: its output, C sources, link inputs, and the preprocessing flags."""

    def __init__(self, argv: list[str]) -> None:
        self.output: str | None = None
        self.sources: list[str] = []
        self.keyed: list[str] = []  # the arguments as keyed (the -o value left out)
        self.cpp: list[str] = []  # the arguments a preprocessing run keeps
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
                n += 2
                continue
            self.keyed.append(word)
            if word.endswith(".c") and not word.startswith("-"):
                self.sources.append(word)
            elif not word.startswith(("-l", "-L", "-Wl,")) and not word.lower().endswith(LINK_SUFFIXES):
                self.cpp.append(word)
            n += 1
        if self.output is None or not self.sources:
            self.cacheable = False


def key_of(argv: list[str], plan: Plan, namespace: str) -> str | None:
    """The C step's key; None when it cannot be keyed (the compiler not found, a preprocessing failure)."""
    real = shutil.which(argv[0])
    if real is None:
        return None
    lines = [FORMAT, f"namespace {namespace}", f"cc {os.path.realpath(real)} {_digest_file(real)}"]
    for word in plan.keyed:
        lines.append(f"arg {word}")
        if not word.startswith("-") and os.path.isfile(word) and word not in plan.sources:
            lines.append(f"file {word} {_digest_file(word)}")
    for source in plan.sources:
        done = subprocess.run([argv[0], *plan.cpp, "-E", source], capture_output=True)
        if done.returncode != 0:
            return None  # the real compile says why
        lines.append(f"cpp {source} {hashlib.sha256(done.stdout).hexdigest()}")
    return hashlib.sha256("\n".join(lines).encode("utf-8", errors="surrogateescape")).hexdigest()


def _digest_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _note(what: str, key: str = "") -> None:
    log = os.environ.get(LOG)
    if log:
        try:
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{what} {key}".strip() + "\n")
        except OSError:
            pass


def _run(argv: list[str]) -> int:
    """The real compiler, its output passed straight through (Wyn's shell redirects it)."""
    try:
        return subprocess.run(argv).returncode
    except OSError as exc:
        sys.stderr.write(f"pytest-wyn C front: cannot start {argv[0]}: {exc.strerror or exc}\n")
        return 127


def main(argv: list[str]) -> int:
    if os.environ.get(GENERATE_ONLY) == "1":
        _note("generated")
        return 0
    if not argv:
        sys.stderr.write("pytest-wyn C front: no C compiler named\n")
        return 2
    plan = Plan(argv)
    where = os.environ.get(STORE)
    store = Store(Path(where)) if where else None
    try:
        key = None
        if store is not None and plan.cacheable:
            store.prepare()
            key = key_of(argv, plan, namespace())
    except (OSError, CacheDirError):
        key = None
    if store is None or key is None or plan.output is None:
        _note("uncached")
        return _run(argv)
    try:
        with store.lock(key):
            return _through_store(store, key, argv, Path(plan.output))
    except OSError:  # the lock could not be taken: the build goes on without the store
        _note("uncached")
        return _run(argv)


def _through_store(store: Store, key: str, argv: list[str], output: Path) -> int:
    """Under the key's lock: the stored binary placed at the output, or a compile stored for next time."""
    try:
        entry = store.lookup(key)
    except (CorruptEntry, OSError):
        entry = None
    trusted = os.environ.get(TRUSTED, "").split()
    if entry is not None and entry.meta.from_remote and entry.meta.signer not in trusted:
        entry = None  # fetched under a key no longer trusted: compiled again here, and replaced
    # Not here: the builder's process asks the shared cache (its tier, breaker and figures live there).
    address = os.environ.get(cfetch.ADDRESS)
    if entry is None and address and cfetch.ask(address, os.environ.get(cfetch.TOKEN, ""), key, FETCH_WAIT):
        try:
            entry = store.lookup(key)
        except (CorruptEntry, OSError):
            entry = None
    if entry is not None and entry.binary is not None:
        try:
            if copy_verified(entry.binary, output, entry.meta.binary_sha256):
                os.chmod(output, 0o755)
                _note("reused", key)
                return 0
        except OSError:
            pass
        store.discard(key)
    started = time.monotonic()
    code = _run(argv)
    _note("compiled", key)
    if code == 0 and output.is_file():
        try:
            staged = store.new_staging_dir()
            try:
                shutil.copyfile(output, staged / "binary")
                os.chmod(staged / "binary", 0o700)
                store.publish(key, staged, EntryMeta("ok", time.monotonic() - started, 0, ""))
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        except OSError:
            pass  # not stored: this build is still good
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
