"""The ``wyn`` command line: build, check, --version; diagnostics in Wyn's forms; fault knobs."""

from __future__ import annotations

import os
import sys
import time

from . import BOLD, CYAN, DIM, GREEN, RED, RESET, VERSION

TYPE_CHECKING = False  # not typing's: importing typing would double `wyn --version`'s start-up
if TYPE_CHECKING:
    from .lexer import WynError

# Everything else is imported where it is used: `wyn --version` runs once per pytest session, and its
# start-up is most of what it costs.


def find_cc() -> str | None:
    import shutil

    env = os.environ.get("WYN_CC")
    if env:
        return env
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


def source_line(src: str, line: int) -> str:
    lines = src.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


def report(err: WynError, path: str, src: str) -> None:
    if err.checker:
        text = source_line(src, err.line)
        sys.stderr.write(
            f"\nError at line {err.line}: {err.msg}\n  {DIM}{err.line:>4} |{RESET} {text}\n"
            f"       {RED}{'^' * max(1, len(text))}{RESET}\n"
        )
    else:
        first, *rest = err.msg.split("\n")
        sys.stdout.write(f"\n{RED}{BOLD}Error:{RESET} {first}\n  --> {path}:{err.line}:{err.col}\n")
        sys.stdout.write(f"   {err.line:>2} | {source_line(src, err.line)}\n     | ^\n")
        for r in rest:
            sys.stdout.write(f"  {BOLD}{r.strip()}{RESET}\n")
    sys.stdout.flush()
    sys.stderr.write(
        f"Compilation failed\n  {CYAN}Wynter:{RESET} Check the error above - the line number points to the problem.\n"
    )


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for k in range(10000):
            x += k * k


def misbehave(mode: str) -> None:
    import signal

    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "hang":
        while True:
            time.sleep(1)
    if mode == "garbage":
        sys.stdout.write("\x00\xff??? %%%\n")
        sys.exit(1)
    if mode == "silent":
        sys.exit(1)
    if mode == "buildfailed":  # what Wyn v1.20 prints when it cannot write its temporary files
        sys.stdout.write(f"{BOLD}Building{RESET} x.wyn...\n")
        sys.stderr.write(f"{RED}\u2717{RESET} Build failed\n")
        sys.exit(1)


def build(path: str, out: str | None, release: bool, check_only: bool) -> int:
    count_file = os.environ.get("WYN_STANDIN_COUNT_FILE")
    if count_file and not check_only:
        with open(count_file, "a", encoding="utf-8") as f:
            f.write(path + "\n")
    mode = os.environ.get("WYN_STANDIN_CRASH", "")
    misbehave(mode)
    try:
        with open(path, encoding="utf-8", newline="") as f:  # as Wyn reads: a lone CR ends no line
            src = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"{RED}Error:{RESET} Could not read file '{path}': {exc}\n")
        return 1
    if not check_only:
        print(f"{BOLD}Building{RESET} {path}...", flush=True)
    start = time.monotonic()
    from .compiler import Compiler
    from .lexer import WynError

    comp = Compiler(path, src)
    try:
        csrc = comp.compile()
    except WynError as err:
        for key in comp.notfound:
            sys.stderr.write(f"{RED}Error:{RESET} Module '{key}' not found\n")
        report(err, path, src)
        return 1
    for key in comp.notfound:
        sys.stderr.write(f"{RED}Error:{RESET} Module '{key}' not found\n")
    if check_only:
        return 0
    delay = float(os.environ.get("WYN_STANDIN_DELAY", "0") or 0)
    if delay > 0:
        burn(delay)
    cfile = path + ".c"
    with open(cfile, "w", encoding="utf-8") as f:
        f.write(csrc)
    if mode == "nobinary":
        return 0
    if mode == "noexec":
        with open(out or path[:-4], "w", encoding="utf-8") as f:
            f.write("this is not a program\n")
        os.chmod(out or path[:-4], 0o644)
        return 0
    out = out or (path[:-4] if path.endswith(".wyn") else path + ".out")
    cc = find_cc()
    if cc is None:
        sys.stderr.write("Error: no C compiler found (cc, gcc, clang)\n  Or set WYN_CC=/path/to/compiler\n")
        return 1
    import shlex
    import subprocess

    from .roots import link_inputs, runtime_root

    root = runtime_root()
    flags = ["-O2", "-s", "-DWYN_RELEASE_FLAG=1"] if release else ["-O0"]
    memo = memo_path(cc, flags, csrc, root)
    if memo is None or not reuse(memo, out):
        # As Wyn: WYN_CC goes into a shell command line as written (it may carry arguments), and the line
        # has Wyn's shape: the runtime's headers by -I ROOT/src, the runtime library after the C file.
        quote = subprocess.list2cmdline if os.name == "nt" else shlex.join  # cmd.exe's quoting, or sh's
        words = [*flags, "-w", "-I", f"{root}/src", "-o", out, cfile, *link_inputs(root)]
        line = " ".join([cc, quote(words)])
        proc = subprocess.run(line, shell=True, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(f"{RED}\u2717{RESET} Build failed\n  Compiler output:\n{proc.stdout}{proc.stderr}\n")
            return 1
        if memo is not None:
            keep(out, memo)
    ms = int((time.monotonic() - start) * 1000)
    size = os.path.getsize(out) // 1024 if os.path.exists(out) else 0  # a WYN_CC that compiles nothing: as Wyn
    print(f"{GREEN}\u2713{RESET} Built: {out} ({size}KB, {ms}ms)", flush=True)
    return 0


def memo_path(cc: str, flags: list[str], csrc: str, root: str) -> str | None:
    """Where the executable for this C text, these flags and this C compiler is kept, if anywhere.

    With WYN_STANDIN_CC_MEMO (the suite sets it), a C compile of the same text
    with the same flags and compiler is done once and copied after, as ccache
    would: the suite compiles the same small programs hundreds of times. Never
    with WYN_CC, which a test may point at a compiler that behaves its own way.
    """
    memo = os.environ.get("WYN_STANDIN_CC_MEMO")
    if not memo or os.environ.get("WYN_CC"):
        return None
    import hashlib

    try:
        real = os.path.realpath(cc)
        st = os.stat(real)
    except OSError:
        return None
    from .roots import link_inputs

    try:
        with open(os.path.join(root, "src", "wyn_runtime.h"), "rb") as f:
            header = f.read().decode("utf-8", "replace")
        libs = [f"{lib} {os.stat(lib).st_mtime_ns} {os.stat(lib).st_size}" for lib in link_inputs(root)]
    except OSError:
        return None
    identity = "\0".join([real, str(st.st_size), str(st.st_mtime_ns), *flags, csrc, header, *libs])
    return os.path.join(memo, hashlib.sha256(identity.encode()).hexdigest())


def reuse(memo: str, out: str) -> bool:
    import shutil

    try:
        shutil.copyfile(memo, out)
        os.chmod(out, 0o755)
    except OSError:
        return False
    return True


def keep(out: str, memo: str) -> None:
    import shutil

    part = f"{memo}.{os.getpid()}.part"
    try:
        shutil.copyfile(out, part)
        os.replace(part, memo)  # whole or not at all, whoever else writes it meanwhile
    except OSError:
        pass


def version() -> str:
    """Names a digest of the package's sources: an edited stand-in is another compiler to the cache."""
    import zlib  # not hashlib: loading OpenSSL would be most of this command's cost

    crc = 0
    here = os.path.dirname(os.path.abspath(__file__))
    for source in sorted(name for name in os.listdir(here) if name.endswith(".py")):
        with open(os.path.join(here, source), "rb") as f:
            crc = zlib.crc32(f.read(), crc)
    digest = f"{crc:08x}"
    return f"{BOLD}Wyn{RESET} v{VERSION} {DIM}- pytest-wyn stand-in {digest}{RESET}"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: wyn build FILE.wyn [-o OUT] [--release] | wyn check FILE.wyn | wyn --version")
        return 0 if argv else 1
    if argv[0] in ("--version", "-v", "version"):
        print(version())
        return 0
    cmd, rest = (argv[0], argv[1:]) if argv[0] in ("build", "check") else ("check", argv)
    out, release, files = None, False, []
    k = 0
    while k < len(rest):
        a = rest[k]
        if a == "-o" and k + 1 < len(rest):
            out = rest[k + 1]
            k += 2
            continue
        if a == "--release":
            release = True
        elif a in ("--fast", "--debug"):
            pass
        elif a.startswith("-"):
            sys.stderr.write(f"{RED}Error:{RESET} unknown option '{a}'\n")
            return 1
        else:
            files.append(a)
        k += 1
    if len(files) != 1:
        sys.stderr.write(f"{RED}Error:{RESET} expected one .wyn file\n")
        return 1
    return build(files[0], out, release, check_only=(cmd == "check"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
