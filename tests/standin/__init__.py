"""A stand-in for the Wyn toolchain, for machines without a real one (CI).

A small package: ``lexer`` (tokens, diagnostics), ``modules`` (import
resolution, as documented), ``compiler`` (parser and C generator), ``driver``
(the command line); ``tests/wyn_standin.py`` runs it.

It implements the parts of the ``wyn`` command line that pytest-wyn uses and
compiles a small subset of Wyn to C, then to a real native executable with the
system C compiler, so that exit codes, signals, hangs and compile cost are real.
Python standard library only. The plugin never special-cases it: it is just
another ``wyn``.

Command line (as Wyn v1.20.0):
    wyn build FILE.wyn [-o OUT] [--release]   compile; writes FILE.wyn.c beside FILE
    wyn check FILE.wyn | wyn FILE.wyn          type-check only, writes nothing
    wyn --version

The subset:
    [pub] fn name(a: int, b: string) -> int { ... }
    fn main() -> int { ... }  or top-level statements
    var/let/const x [: type] = expr;  x = expr;  return [expr]
    if cond { } else if cond { } else { };  while cond { };  break
    int, string and bool values; + - * / % == != < <= > >= && || ! ; string +
    "strings with \\"escapes\\" and ${name} interpolation"
    [1, 2, 3] int arrays and a[i] (out of bounds: ``panic at FILE:LINE: ...``)
    println(x), print(x) (both end the line), panic("msg"), exit(n)
    assert(cond), assert_eq(a, b)                  non-fatal, messages on stderr
    test "name" { }, before_each { }, after_each { }
    import m / import a.b / import m as x / import { f } from m / self:: / root::
        (resolved with Wyn's search order; call as ``m.f()``, or ``x.f()``)
    Time.sleep(ms)                                  the built-in Time module's sleep
    __c("raw C statement")                          stand-in only, for fault tests

Behaviour that a runner can observe, as the real compiler:
    coloured output even when not a terminal; ``Building FILE...`` and
    ``Built: OUT (NKB, Nms)`` on stdout; syntax and type errors on stdout as
    ``Error: msg`` + ``  --> FILE:LINE:COL``; checker errors on stderr as
    ``Error at line N: msg`` with a caret line; C-compiler failures as
    ``✗ Build failed`` + ``Compiler output:`` + the C compiler's output;
    ``Compilation failed`` on stderr after a Wyn diagnostic;
    a missing module prints ``Error: Module 'm' not found`` and still builds.

Knobs (environment):
    WYN_CC                   the C compiler, a shell word list (else cc, gcc, clang on PATH)
    WYN_STANDIN_DELAY        seconds of CPU to burn per build (benchmarks)
    WYN_STANDIN_COUNT_FILE   append one line per build to this file
    WYN_STANDIN_CC_MEMO      a directory where a C compile of the same text, flags and C compiler
                             is kept and copied the next time, as ccache would (never with WYN_CC)
    WYN_STANDIN_CRASH        "segv" kills the compiler by SIGSEGV, "hang" never returns,
                             "nobinary" exits 0 without writing the output,
                             "noexec" exits 0 after writing a non-executable text file,
                             "garbage" prints noise and exits 1, "silent" exits 1 printing nothing,
                             "buildfailed" prints only ``✗ Build failed`` (Wyn with a full TMPDIR)

The C it generates defines WYN_RELEASE_FLAG (1 with --release) and WYN_CC_FLAG
(0 unless the C compiler defines it), so a test can observe how it was built.
"""

VERSION = "1.20.0"
RED, GREEN, BOLD, DIM, CYAN, RESET = "\033[31m", "\033[32m", "\033[1m", "\033[2m", "\033[36m", "\033[0m"
