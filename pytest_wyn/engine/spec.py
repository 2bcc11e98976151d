"""Read a `.wyn` test file: its directives and its `test "name"` blocks.

Pure text, no pytest, no compiling; the only I/O is ``read_source``. Collection calls this for every file in
every xdist worker and on every IDE refresh, so it is one pass of compiled
regular expressions, never a character loop in Python.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from .defaults import MAX_SECONDS, SettingError, parse_number
from .errors import TestError
from .openflags import BINARY, CLOEXEC, NONBLOCK

LineOf = Callable[[int], int]  # offset -> 1-based line

KNOWN_DIRECTIVES = ("EXPECT", "EXPECT_ERROR", "EXPECT_EXIT", "SKIP", "XFAIL", "TIMEOUT", "MARK")

# A directive is a `//` comment `KEY: value`. As in Wyn's own runner (which
# greps `// EXPECT:`), it counts wherever it stands on its line.
_DIRECTIVE_RE = re.compile(r"//[ \t]*([A-Z][A-Z0-9_]*):[ ]?([^\n]*)")

# The structural scan: only what can change brace depth or hide a block. Wyn's lexer
# skips `//` and `#` to the end of the line and `/* ... */`: quotes inside them mean nothing.
_SCAN_RE = re.compile(
    r"""//[^\n]*|\#[^\n]*|/\*|\"\"\"|"|'|\{|\}|\b(?:test|fn)\b""",
)
_SIMPLE_STRING_TAIL = re.compile(r'(?:[^"\\\n$]|\\.|\$(?!\{))*"')
_SQ_STRING_TAIL = re.compile(r"(?:[^'\\\n]|\\.)*'")
# As Wyn's parser: `test`, spaces or tabs, then a quoted name or an identifier (starting with a letter).
_TEST_HEAD = re.compile(r'test[ \t]*(?:(")|([A-Za-z][A-Za-z0-9_]*))')
# An unquoted name starting so is taken by Wyn's code generator for the hook (codegen_program.c).
HOOK_NAMES = ("before_each", "after_each")
# Between a block's name and its `{` Wyn's parser skips whitespace, newlines and comments.
_AFTER_NAME = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*(\{)?", re.DOTALL)
_FN_MAIN = re.compile(r"fn[ \t]+main\b")


class SpecError(TestError):
    """The file cannot be read as Wyn: one message and the line it is about."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Directive:
    key: str
    value: str
    line: int  # 1-based


@dataclass(frozen=True)
class Block:
    """A top-level `test "name" { ... }` (or `test name { ... }`) block, lines 1-based and inclusive.

    ``name`` is the name as Wyn's runner prints it: the runner passes a quoted
    name to C's printf as the format, so C escapes are decoded and `%%` is `%`;
    any other `%` is a conversion Wyn cannot print (``printable`` is False).
    """

    name: str
    line: int
    end_line: int
    printable: bool = True


@dataclass(frozen=True)
class MisreadHook:
    """`test after_each_x { }`: an unquoted name that Wyn takes for a hook, never a test of its own."""

    name: str
    hook: str
    line: int


@dataclass(frozen=True)
class UnknownDirective:
    key: str
    line: int
    suggestion: str


@dataclass
class Spec:
    """What a test file asks for, as written."""

    directives: list[Directive] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    main_line: int | None = None
    unknown: list[UnknownDirective] = field(default_factory=list)
    misread_hooks: list[MisreadHook] = field(default_factory=list)
    # Lines (first, last) inside a `/* */` comment or a `"""` string: --wyn-update writes there with care.
    block_comments: list[tuple[int, int]] = field(default_factory=list)
    long_strings: list[tuple[int, int]] = field(default_factory=list)
    _by_block: dict[int, list[Directive]] | None = field(default=None, repr=False, compare=False)

    def values(self, key: str) -> list[Directive]:
        return [d for d in self.directives if d.key == key]

    def first(self, key: str) -> Directive | None:
        found = self.values(key)
        return found[0] if found else None

    @property
    def expects(self) -> list[Directive]:
        return self.values("EXPECT")

    @property
    def expect_errors(self) -> list[Directive]:
        return self.values("EXPECT_ERROR")

    @property
    def expect_exit(self) -> int | None:
        d = self.first("EXPECT_EXIT")
        return int(d.value) if d else None

    @property
    def timeout(self) -> float | None:
        d = self.first("TIMEOUT")
        return float(d.value) if d else None

    @property
    def is_block_file(self) -> bool:
        """Blocks run only when there is no `fn main` and no compile error is expected."""
        return bool(self.blocks) and self.main_line is None and not self.expect_errors

    @property
    def item_count(self) -> int:
        """How many items the file becomes: a block file's blocks (+1 for its EXPECT lines), else one."""
        if self.is_block_file:
            return len(self.blocks) + (1 if self.expects else 0)
        return 1

    def directives_for(self, block_index: int | None) -> list[Directive]:
        """File-level directives, plus those inside the block at ``block_index``: one pass per file."""
        if self._by_block is None:
            by_block: dict[int, list[Directive]] = {}
            starts = [b.line for b in self.blocks]
            for d in self.directives:
                i = bisect.bisect_right(starts, d.line) - 1
                owner = i if i >= 0 and d.line <= self.blocks[i].end_line else -1
                by_block.setdefault(owner, []).append(d)
            self._by_block = by_block
        own = self._by_block.get(block_index, []) if block_index is not None else []
        return self._by_block.get(-1, []) + own


MAX_SOURCE_BYTES = 16 << 20  # larger than any test file; guards against /dev/zero and the like


def read_source(path: os.PathLike[str] | str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """A source file's bytes, read without blocking and without bound-less reads.

    Only regular files (a symlink to one is fine): a FIFO named ``test_x.wyn``
    would block forever, ``/dev/zero`` would never end. Raises SpecError for
    those, OSError when the file cannot be read.
    """
    fd = os.open(path, os.O_RDONLY | NONBLOCK | CLOEXEC | BINARY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"not a regular file ({_file_kind(st.st_mode)}); only regular files are read", 1)
        if st.st_size > limit:
            raise SpecError(f"the file has {st.st_size} bytes, over the limit of {limit} bytes for a test file", 1)
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise SpecError(f"the file grew over the limit of {limit} bytes for a test file while being read", 1)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def decode(data: bytes) -> str:
    """UTF-8 text with CRLF folded; a clear SpecError for anything else.

    A lone CR stays: for Wyn it does not end a line (nor a `//` comment), so a
    file with CR-only line ends is one line, read as Wyn reads it.
    """
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise SpecError("this is not a text file (it contains NUL bytes)", line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"the file is not valid UTF-8 (byte {exc.start}: {data[exc.start]:#04x})", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")


def parse(text: str) -> Spec:
    spec = Spec()
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(newlines, offset - 1) + 1

    _parse_directives(text, spec, line_of)
    _parse_structure(text, spec, line_of)
    return spec


def _parse_directives(text: str, spec: Spec, line_of: LineOf) -> None:
    for m in _DIRECTIVE_RE.finditer(text):
        key, value = m.group(1), m.group(2).rstrip()
        line = line_of(m.start())
        if key in KNOWN_DIRECTIVES:
            _check_value(key, value, line)
            spec.directives.append(Directive(key, value, line))
        else:
            close = difflib.get_close_matches(key, KNOWN_DIRECTIVES, n=1, cutoff=0.75)
            if close:
                spec.unknown.append(UnknownDirective(key, line, close[0]))


def _check_value(key: str, value: str, line: int) -> None:
    if key == "EXPECT_EXIT":
        try:
            int(value)
        except ValueError:
            raise SpecError(f"EXPECT_EXIT needs a whole number, not {value!r}", line) from None
    elif key == "TIMEOUT":
        try:
            parse_number("TIMEOUT", value, 0, MAX_SECONDS)
        except SettingError:
            raise SpecError(
                f"TIMEOUT needs a positive, finite number of seconds (at most {MAX_SECONDS:g}), not {value!r}", line
            ) from None
    elif key == "MARK" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value.strip()):
        raise SpecError(f"MARK needs one marker name, not {value!r}", line)


def _parse_structure(text: str, spec: Spec, line_of: LineOf) -> None:
    depth = 0
    pos = 0
    opens: list[int] = []  # offsets of unclosed braces, for error messages
    current: tuple[str, bool, int] | None = None  # block being read: name, printable, start offset
    search = _SCAN_RE.search
    while True:
        m = search(text, pos)
        if m is None:
            break
        tok = m.group()
        start = m.start()
        if tok == "{":
            depth += 1
            opens.append(start)
            pos = m.end()
        elif tok == "}":
            if depth == 0:
                raise SpecError("unmatched '}'", line_of(start))
            depth -= 1
            opens.pop()
            pos = m.end()
            if depth == 0 and current is not None:
                name, printable, at = current
                spec.blocks.append(Block(name, line_of(at), line_of(start), printable))
                current = None
        elif tok[0] == "/":
            if tok == "/*":
                end = text.find("*/", m.end())
                pos = len(text) if end < 0 else end + 2  # Wyn's lexer: the rest of the file is the comment
                spec.block_comments.append((line_of(start), line_of(pos - 1)))
            else:
                pos = m.end()
        elif tok[0] == "#":
            pos = m.end()
        elif tok == '"""':
            end = text.find('"""', m.end())
            if end < 0:
                raise SpecError('unterminated multi-line string (""")', line_of(start))
            pos = end + 3
            spec.long_strings.append((line_of(start), line_of(pos - 1)))
        elif tok == '"':
            pos = _skip_string(text, m.end(), start, line_of)
        elif tok == "'":
            tail = _SQ_STRING_TAIL.match(text, m.end())
            if tail is None:
                raise SpecError("unterminated string literal", line_of(start))
            pos = tail.end()
        elif tok == "test":
            pos = m.end()
            if depth == 0:
                head = _TEST_HEAD.match(text, start)
                if head is not None:
                    quoted = head.group(1) is not None
                    name_end = _skip_string(text, head.end(), head.end() - 1, line_of) if quoted else head.end()
                    brace = _AFTER_NAME.match(text, name_end)
                    if brace is not None and brace.group(1):
                        if quoted:
                            name, printable = printed_name(text[head.end() : name_end - 1])
                        else:
                            name, printable = head.group(2), True
                        hook = None if quoted else next((h for h in HOOK_NAMES if name.startswith(h)), None)
                        if hook is not None:
                            spec.misread_hooks.append(MisreadHook(name, hook, line_of(start)))
                        else:
                            current = (name, printable, start)
                        pos = brace.start(1)
                    else:
                        pos = name_end
        else:  # fn
            if depth == 0 and spec.main_line is None and _FN_MAIN.match(text, start):
                spec.main_line = line_of(start)
            pos = m.end()
    if depth:
        raise SpecError("'{' is never closed", line_of(opens[-1]))


def _skip_string(text: str, pos: int, start: int, line_of: LineOf) -> int:
    """Offset just past the string whose body starts at pos (after its quote)."""
    tail = _SIMPLE_STRING_TAIL.match(text, pos)
    if tail is not None:
        return tail.end()
    # Slow path, as Wyn's lexer: `${ ... }` may hold braces and strings.
    i, n = pos, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "\n":
            break
        elif text.startswith("${", i):
            i = _skip_interpolation(text, i + 2, start, line_of)
        else:
            i += 1
    raise SpecError("unterminated string literal", line_of(start))


def _skip_interpolation(text: str, i: int, start: int, line_of: LineOf) -> int:
    depth, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == '"':
            i = _skip_string(text, i + 1, i, line_of)
            continue
        i += 1
    raise SpecError("unterminated string interpolation", line_of(start))


_C_ESCAPES = {
    "n": b"\n", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v", "e": b"\x1b",
    "\\": b"\\", "'": b"'", '"': b'"', "?": b"?",
}  # fmt: skip
_C_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)


def printed_name(body: str) -> tuple[str, bool]:
    """A quoted block name as Wyn's runner prints it, and whether it can print it at all.

    Wyn pastes the name into a C string literal that is printf's format:
    C decodes its escapes (``\\x41`` is ``A``), printf turns ``%%`` into ``%``
    and any other ``%`` into a conversion with no argument (undefined).
    """
    data = _decode_c_escapes(body) if "\\" in body else body.encode("utf-8", "surrogateescape")
    name = data.decode("utf-8", errors="replace")
    printable = "%" not in name.replace("%%", "")
    return name.replace("%%", "%") if printable else name, printable


def _decode_c_escapes(body: str) -> bytes:
    out = bytearray()
    pos = 0
    for m in _C_ESCAPE.finditer(body):
        out += body[pos : m.start()].encode("utf-8", "surrogateescape")
        out += _c_escape(m.group(1))
        pos = m.end()
    out += body[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _c_escape(code: str) -> bytes:
    if code[0] == "x":
        return bytes([int(code[1:], 16)])
    if code[0] in "01234567":
        return bytes([int(code, 8) & 0xFF])
    if code[0] in "uU":
        return chr(int(code[1:], 16)).encode("utf-8", "surrogatepass")
    return _C_ESCAPES.get(code, code.encode("utf-8", "surrogateescape"))
