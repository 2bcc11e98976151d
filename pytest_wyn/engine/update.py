"""``--wyn-update``: rewrite a file's EXPECT lines from what its program printed.

Pure text in, text out (plus the one atomic write): which runs may be
blessed, what the new EXPECT block is, and the rewritten file. Only EXPECT and
EXPECT_EXIT lines are ever changed; every other line stays byte for byte.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .digest import sha256_bytes
from .errors import TestError
from .formats import crash_name, lines_of, locate_panic, strip_ansi
from .process import Completed
from .spec import Spec

MAX_EXPECT_LINES = 200  # more output than this is not pinned by EXPECT lines: write them yourself
# What a `//` comment line should not hold: control characters (a lone CR among them, which an editor
# may take for a line end although Wyn does not) and the separators some editors break lines at.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")
# `// EXPECT: value` as written: what comes before the value is kept (indentation, code, comment style).
_EXPECT_AT = re.compile(r"//[ \t]*EXPECT:[ ]?")
_EXIT_AT = re.compile(r"(//[ \t]*EXPECT_EXIT:[ ]?)(\S*)")


class UpdateRefused(TestError):
    """Why a run's output cannot become EXPECT lines (the test then fails as without --wyn-update)."""


@dataclass(frozen=True)
class Update:
    path: Path
    old: str
    new: str
    lines: int  # EXPECT/EXPECT_EXIT lines written

    def diff(self, shown_as: str) -> str:
        return "".join(
            difflib.unified_diff(self.old.splitlines(True), self.new.splitlines(True), f"a/{shown_as}", f"b/{shown_as}")
        )


def blessable_lines(run: Completed, spec: Spec) -> list[str]:
    """The run's output as EXPECT values, or UpdateRefused saying why it cannot be.

    A run that crashed, panicked or failed is never pinned: its output is the
    failure, not the program's answer (an exit status other than 0 is pinned
    only for a file that says which one it expects, with EXPECT_EXIT).
    """
    if run.launch_error:
        raise UpdateRefused("the test binary could not be started")
    if run.timed_out:
        raise UpdateRefused("the run timed out")
    if run.signal is not None:
        raise UpdateRefused(f"the test binary was killed by {run.signal_name}")
    if run.cut_bytes:
        raise UpdateRefused("the output was over the limit and cut (wyn_max_output)")
    try:
        text = run.output.decode("utf-8")
    except UnicodeDecodeError:
        raise UpdateRefused("the output is not valid UTF-8") from None
    text = strip_ansi(text)
    panic = locate_panic(text)
    if panic is not None:
        raise UpdateRefused(f"the program panicked ({panic.message}); fix it, then update")
    crash = crash_name(run.returncode, text)
    if crash is not None:
        raise UpdateRefused(f"the test binary crashed ({crash})")
    # In a block file, exit 1 says a block failed: the blocks' own items report that.
    if run.returncode != 0 and spec.expect_exit is None and not spec.is_block_file:
        raise UpdateRefused(
            f"the program exited {run.returncode}; a failing run is not pinned (add // EXPECT_EXIT: "
            f"{run.returncode} if that status is what it should do)"
        )
    lines = lines_of(text)  # as the judge reads them: only LF ends a line
    for number, line in enumerate(lines, 1):
        bad = _CONTROL.search(line.replace("\t", " "))
        if bad is not None:
            raise UpdateRefused(f"output line {number} holds {bad.group()!r}, which a // comment line cannot hold")
    if len(lines) > MAX_EXPECT_LINES:
        raise UpdateRefused(f"the output has {len(lines)} lines, over the {MAX_EXPECT_LINES} that --wyn-update writes")
    return [line.rstrip() for line in lines]


_LINE = re.compile(r"([^\n]*?)(\r\n|\n|\Z)")


def _split(text: str) -> list[tuple[str, str]]:
    """(content, line end) pairs, ends as written: lines are numbered as spec.decode numbers them.

    Only LF (or CRLF) ends a line, as for Wyn's lexer: a lone CR does not end a
    `//` comment, so a file with CR-only line ends is one long line here too.
    """
    pairs = [(m.group(1), m.group(2)) for m in _LINE.finditer(text)]
    if pairs and pairs[-1] == ("", ""):
        pairs.pop()
    return pairs


# A line --wyn-update may rewrite: nothing but the EXPECT comment, as Wyn's runner greps it.
_PURE_EXPECT = re.compile(r"[ \t]*//[ \t]*EXPECT:[^\n]*")


def _check_rewritable(spec: Spec, line_no: int, line: str, values: list[str]) -> None:
    """UpdateRefused unless the EXPECT line can be rewritten without touching anything else."""
    if "\r" in line:
        raise UpdateRefused(
            f"line {line_no} holds a lone carriage return (CR), which does not end a line for Wyn: the `//` "
            "comment runs on past it, so rewriting it could delete code (convert the file to LF line ends)"
        )
    if not _PURE_EXPECT.fullmatch(line):
        raise UpdateRefused(
            f"line {line_no} holds code besides its // EXPECT: comment; --wyn-update rewrites only lines "
            "that are nothing but `// EXPECT: ...` (move the comment to a line of its own)"
        )
    if any(first <= line_no <= last for first, last in spec.long_strings):
        raise UpdateRefused(f'line {line_no} is inside a """ string, not a comment; --wyn-update leaves it alone')
    if any(first <= line_no <= last for first, last in spec.block_comments):
        closing = next((v for v in values if "*/" in v), None)
        if closing is not None:
            raise UpdateRefused(
                f"line {line_no} is inside a /* */ comment and the new text {closing!r} would close it early"
            )


def rewrite(text: str, spec: Spec, values: list[str], exit_status: int | None) -> tuple[str, int]:
    """The file with its EXPECT lines replaced by ``values`` (and EXPECT_EXIT by ``exit_status``).

    ``text`` is the file as written (line ends and all); only EXPECT and
    EXPECT_EXIT lines change. Existing EXPECT lines are rewritten in place,
    surplus ones removed, missing ones added after the last (with its
    indentation); with no EXPECT line at all, the block goes at the end.
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # kept as written; spec.decode reads past it
    lines = _split(text[len(bom) :])
    newline = next((end for _, end in lines if end), "\n")
    expects = spec.expects
    written = 0
    edits: dict[int, list[tuple[str, str]]] = {}  # 0-based line -> its replacement lines
    for d in expects:
        _check_rewritable(spec, d.line, lines[d.line - 1][0], values)
    for i, d in enumerate(expects):
        line, end = lines[d.line - 1]
        m = _EXPECT_AT.search(line)
        assert m is not None, line
        before = line[: m.start()]
        if i < len(values):
            new = before + "// EXPECT: " + values[i]
            written += new != line
            edits[d.line - 1] = [(new, end)]
        else:
            edits[d.line - 1] = []
            written += 1
    extra = values[len(expects) :]
    if extra and expects:
        at = expects[-1].line - 1
        line, end = lines[at]
        indent = re.match(r"[ \t]*", line)
        prefix = (indent.group() if indent else "") + "// EXPECT: "
        block = [(prefix + v, end or newline) for v in extra]
        current = edits.get(at, [(line, end or newline)])
        edits[at] = current[:-1] + [(current[-1][0], current[-1][1] or newline), *block]
        written += len(extra)
    exit_directive = spec.first("EXPECT_EXIT")
    if exit_directive is not None and exit_status is not None and int(exit_directive.value) != exit_status:
        at = exit_directive.line - 1
        current = edits.get(at, [lines[at]])
        first = _EXIT_AT.sub(lambda m: f"{m.group(1)}{exit_status}", current[0][0], count=1)
        edits[at] = [(first, current[0][1]), *current[1:]]
        written += 1
    out = "".join(content + end for n, pair in enumerate(lines) for content, end in edits.get(n, [pair]))
    if extra and not expects:
        if out and not out.endswith(("\n", "\r")):
            out += newline
        out += (newline if out.strip() else "") + "".join("// EXPECT: " + v + newline for v in extra)
        written += len(extra)
    return bom + out, written


def check_removals(spec: Spec, values: list[str], mode: str) -> None:
    """UpdateRefused when the rewrite would remove EXPECT lines it may not.

    Removing every EXPECT line would silently turn an output test into a program
    test that passes whatever it prints later: never. Removing some (the program
    now prints fewer lines) only when asked, with ``--wyn-update=all``.
    """
    have = len(spec.expects)
    if not have or len(values) >= have:
        return
    if not values:
        raise UpdateRefused(
            f"the program printed nothing: that would remove all {have} EXPECT line(s), and the file would "
            "become a program test that passes whatever it prints; fix the program, or remove them by hand"
        )
    if mode != "all":
        raise UpdateRefused(
            f"the program printed {len(values)} line(s) for the file's {have} EXPECT line(s); "
            "--wyn-update=all removes the surplus ones"
        )


digest = sha256_bytes  # what --wyn-update compares before it writes (the file's bytes at collection)


def writable_target(path: Path) -> Path:
    """The file an update writes: a symbolic link's target (the link stays); UpdateRefused if read-only."""
    target = Path(os.path.realpath(path))
    st = os.stat(target)
    if not st.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise UpdateRefused(
            f"{path.name} is read-only (mode {stat.S_IMODE(st.st_mode):o}); make it writable to update it"
        )
    return target


def write_in_place(path: Path, text: str | bytes, expected_digest: str) -> None:
    """Replace the file's text, unless it changed since it was read (UpdateRefused); mode, links and owner kept.

    A file with one name is replaced atomically (a temporary file renamed over
    it); a file with several hard links is rewritten in place, so that every
    name keeps seeing it.
    """
    current = path.read_bytes()
    if digest(current) != expected_digest:
        raise UpdateRefused("the file changed since it was compiled; run again")
    st = os.stat(path)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    if st.st_nlink > 1:
        with open(path, "r+b") as f:
            f.write(data)
            f.truncate()
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".wyn-update")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
