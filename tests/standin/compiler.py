"""Parser and code generator: the Wyn subset to one C file, with the test-block runner."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from . import GREEN, RED, RESET
from .lexer import Tok, WynError, lex
from .modules import find_module


class Fn(NamedTuple):
    name: str
    params: list[tuple[str, str]]
    ret: str
    body_start: int
    line: int


class Module:
    """One source file: its C prefix, tokens, functions and import aliases (alias -> module key)."""

    def __init__(self, name: str, path: str, toks: list[Tok]) -> None:
        self.name, self.path, self.toks = name, path, toks
        self.fns: dict[str, Fn] = {}
        self.aliases: dict[str, str] = {}


def c_string(s: str) -> str:
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append(f"\\{ch:03o}")
    return '"' + "".join(out) + '"'


def unescape(lit: str) -> str:
    body = lit[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(m.group(1), m.group(1)), body)


class Compiler:
    def __init__(self, path: str, src: str):
        self.path = path
        self.modules: dict[str, Module] = {}
        self.entry = Module("", path, lex(src))
        self.warnings: list[str] = []
        self.notfound: list[str] = []
        self.src_dir = os.path.dirname(path) or "."

    # -- imports, resolved as Wyn does
    def load_module(self, spec: str, importer: Module) -> str | None:
        if spec.startswith("root::"):
            key = spec[6:].replace(".", "/")
        elif spec.startswith("self::"):
            rest = spec[6:].replace(".", "/")
            base = importer.name.replace("__", "/").rsplit("/", 1)[0] if "/" in importer.name.replace("__", "/") else ""
            key = f"{base}/{rest}" if base else rest
        else:
            key = spec.replace(".", "/")
        if key in self.modules:
            return key
        path = find_module(key, self.src_dir)
        if path is None:
            if key not in self.notfound:
                self.notfound.append(key)
            return None
        with open(path, encoding="utf-8", newline="") as f:  # as Wyn reads: a lone CR ends no line
            mod = Module(key.replace("/", "__"), path, lex(f.read()))
        self.modules[key] = mod
        self.scan(mod)
        return key

    # -- first pass: functions, imports, tests
    def scan(self, mod: Module) -> None:
        t = mod.toks
        i, depth = 0, 0
        self.tests: list[tuple[str, int, int]] = getattr(self, "tests", [])
        while t[i].kind != "eof":
            tok = t[i]
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth -= 1
            elif depth == 0 and tok.text == "import":
                i, spec, alias = self.parse_import(t, i + 1)
                key = self.load_module(spec, mod)
                if key is not None:
                    mod.aliases[alias] = key
                continue
            elif depth == 0 and tok.text == "fn":
                j = i + 1
                name = self.expect_ident(t, j)
                j += 1
                self.expect(t, j, "(")
                j += 1
                params: list[tuple[str, str]] = []
                while t[j].text != ")":
                    pname = self.expect_ident(t, j)
                    self.expect(t, j + 1, ":")
                    ptype, j = self.parse_type(t, j + 2)
                    params.append((pname, ptype))
                    if t[j].text == ",":
                        j += 1
                    elif t[j].text != ")":
                        raise WynError("Expected ')' after parameters", t[j].line, t[j].col)
                j += 1
                ret = "void"
                if t[j].text == "->":
                    ret, j = self.parse_type(t, j + 1)
                self.expect(t, j, "{")
                if name in mod.fns:
                    raise WynError(f"Duplicate function '{name}'", tok.line, checker=True)
                mod.fns[name] = Fn(name, params, ret, j, tok.line)
                i = self.skip_block(t, j)
                continue
            i += 1
        if depth != 0:
            raise WynError("Expected '}' at end of file", t[-1].line, t[-1].col)

    def parse_import(self, t: list[Tok], i: int) -> tuple[int, str, str]:
        if t[i].text == "{":
            while t[i].text != "from" and t[i].kind != "eof":
                i += 1
            i += 1
        parts = []
        prefix = ""
        if t[i].text in ("root", "self") and t[i + 1].text == "::":
            prefix = t[i].text + "::"
            i += 2
        parts.append(self.expect_ident(t, i))
        i += 1
        while t[i].text == "." and t[i + 1].kind == "ident":
            parts.append(t[i + 1].text)
            i += 2
        alias = parts[-1]
        if t[i].text == "as":
            alias = self.expect_ident(t, i + 1)
            i += 2
        return i, prefix + ".".join(parts), alias

    def skip_block(self, t: list[Tok], i: int) -> int:
        depth = 0
        while True:
            if t[i].kind == "eof":
                raise WynError("Expected '}' to close block", t[i].line, t[i].col)
            if t[i].text == "{":
                depth += 1
            elif t[i].text == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1

    def expect(self, t: list[Tok], i: int, text: str) -> None:
        if t[i].text != text:
            raise WynError(f"Expected '{text}'", t[i].line, t[i].col)

    def expect_ident(self, t: list[Tok], i: int) -> str:
        if t[i].kind != "ident":
            raise WynError("Expected identifier", t[i].line, t[i].col)
        return t[i].text

    def parse_type(self, t: list[Tok], i: int) -> tuple[str, int]:
        if t[i].text == "[":
            self.expect(t, i + 1, "int")
            self.expect(t, i + 2, "]")
            return "arr", i + 3
        if t[i].text in ("int", "string", "bool", "void"):
            return {"bool": "int"}.get(t[i].text, t[i].text), i + 1
        raise WynError(f"Unknown type '{t[i].text}'", t[i].line, t[i].col)

    # -- code generation
    def compile(self) -> str:
        self.tests = []
        self.scan(self.entry)
        out = [RUNTIME]
        all_mods = list(self.modules.values()) + [self.entry]
        for mod in all_mods:
            for fn in mod.fns.values():
                out.append(self.fn_sig(mod, fn) + ";")
        for mod in all_mods:
            for fn in mod.fns.values():
                self.mod = mod
                out.append(f'#line {fn.line} "{self.c_path(mod.path)}"')
                out.append(self.fn_sig(mod, fn) + " {")
                self.scopes: list[dict[str, str]] = [dict(fn.params)]
                self.ret_type = fn.ret
                body, _ = self.block(mod.toks, fn.body_start)
                out.append(body)
                out.append("return 0;" if fn.ret != "void" else "")
                out.append("}")
        self.mod = self.entry
        has_main = "main" in self.entry.fns
        out.append("int main(void) {\n  setvbuf(stdout, NULL, _IOLBF, 0);")
        if has_main:
            out.append("  int rc = (int)wyn_main();\n  return wyn_fail_count ? 1 : rc;\n}")
            return "\n".join(out)
        # top-level statements and tests
        self.scopes = [{}]
        self.ret_type = "int"
        t = self.entry.toks
        i = 0
        tests: list[tuple[str, int]] = []
        hooks: dict[str, int] = {}
        while t[i].kind != "eof":
            tok = t[i]
            if tok.text == "import":
                i, _, _ = self.parse_import(t, i + 1)
            elif tok.text == "pub" and t[i + 1].text == "fn":
                i += 1
            elif tok.text == "fn":
                i = self.skip_block(t, self.entry.fns[t[i + 1].text].body_start)
            elif tok.text == "test" and t[i + 1].kind in ("string", "ident"):
                self.expect(t, i + 2, "{")
                name = t[i + 1].text
                # As Wyn's code generator: an unquoted name starting with a hook's name is that hook.
                hook = next((h for h in ("before_each", "after_each") if name.startswith(h)), None)
                if t[i + 1].kind == "ident" and hook is not None:
                    hooks[hook] = i + 2
                else:
                    tests.append((name[1:-1] if t[i + 1].kind == "string" else name, i + 2))
                i = self.skip_block(t, i + 2)
            elif tok.text in ("before_each", "after_each") and t[i + 1].text == "{":
                hooks[tok.text] = i + 1
                i = self.skip_block(t, i + 1)
            else:
                code, i = self.statement(t, i)
                out.append(code)
        if tests:
            out.append("  int passed = 0, failed = 0;")
            for name, start in tests:
                out.append("  { int before = wyn_fail_count;")
                for hook in ("before_each",):
                    if hook in hooks:
                        out.append(self.block(t, hooks[hook])[0])
                out.append(self.block(t, start)[0])
                if "after_each" in hooks:
                    out.append(self.block(t, hooks["after_each"])[0])
                # As Wyn: the name as written goes into printf's format (escapes decoded, % a conversion).
                tick, cross = "\\342\\234\\223", "\\342\\234\\227"
                out.append(
                    f'  if (wyn_fail_count == before) {{ passed++; printf("  {GREEN}{tick}{RESET} {name}\\n"); }}'
                    f' else {{ failed++; printf("  {RED}{cross}{RESET} {name}\\n"); }} }}'
                )
            out.append(
                f'  if (failed) {{ printf("\\n{RED}%d passed, %d failed{RESET}\\n", passed, failed); return 1; }}'
                f'\n  printf("\\n{GREEN}%d tests passed{RESET}\\n", passed); return 0;'
            )
        else:
            out.append("  return wyn_fail_count ? 1 : 0;")
        out.append("}")
        return "\n".join(out)

    def c_path(self, path: str) -> str:
        return path.replace("\\", "\\\\").replace('"', '\\"')

    def fn_sig(self, mod: Module, fn: Fn) -> str:
        ctype = {"int": "long long", "string": "const char*", "void": "void", "arr": "WynArr"}
        params = ", ".join(f"{ctype[ty]} {n}" for n, ty in fn.params) or "void"
        cname = "wyn_main" if (fn.name == "main" and mod is self.entry) else f"f_{mod.name}_{fn.name}"
        return f"{ctype[fn.ret]} {cname}({params})"

    def block(self, t: list[Tok], i: int) -> tuple[str, int]:
        self.expect(t, i, "{")
        i += 1
        self.scopes.append({})
        parts = ["{"]
        while t[i].text != "}":
            if t[i].kind == "eof":
                raise WynError("Expected '}' to close block", t[i].line, t[i].col)
            code, i = self.statement(t, i)
            parts.append(code)
        self.scopes.pop()
        parts.append("}")
        return "\n".join(parts), i + 1

    def lookup(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def statement(self, t: list[Tok], i: int) -> tuple[str, int]:
        tok = t[i]
        line = f'#line {tok.line} "{self.c_path(self.mod.path)}"\n'
        if tok.text in ("var", "let", "const", "mut"):
            name = self.expect_ident(t, i + 1)
            i += 2
            declared = None
            if t[i].text == ":":
                declared, i = self.parse_type(t, i + 1)
            self.expect(t, i, "=")
            code, ty, i = self.expr(t, i + 1)
            if declared and declared != ty:
                raise WynError(
                    f"Type mismatch at line {tok.line}:{tok.col - 1}\n  Expected: {declared}\n  Got:      {ty}",
                    tok.line,
                    tok.col,
                )
            self.scopes[-1][name] = ty
            return line + f"{CTYPE[ty]} {name} = {code}; (void){name};", i
        if tok.text == "return":
            if t[i + 1].text == "}" or t[i + 1].line != tok.line:
                return line + "return" + (" 0;" if self.ret_type != "void" else ";"), i + 1
            code, ty, i = self.expr(t, i + 1)
            return line + f"return {code};", i
        if tok.text == "break":
            return line + "break;", i + 1
        if tok.text == "if":
            cond, _, i = self.expr(t, i + 1)
            body, i = self.block(t, i)
            code = line + f"if ({cond}) {body}"
            if t[i].text == "else":
                if t[i + 1].text == "if":
                    rest, i = self.statement(t, i + 1)
                    return code + " else { " + rest + " }", i
                body, i = self.block(t, i + 1)
                code += f" else {body}"
            return code, i
        if tok.text == "while":
            cond, _, i = self.expr(t, i + 1)
            body, i = self.block(t, i)
            return line + f"while ({cond}) {body}", i
        if tok.kind == "ident" and t[i + 1].text == "=":
            ty = self.lookup(tok.text)
            code, ety, j = self.expr(t, i + 2)
            if ty is None:
                self.scopes[0 if len(self.scopes) == 1 else -1][tok.text] = ety
                return line + f"{CTYPE[ety]} {tok.text} = {code};", j
            if ty != ety:
                raise WynError(
                    f"Type mismatch at line {tok.line}:{tok.col - 1}\n  Expected: {ty}\n  Got:      {ety}",
                    tok.line,
                    tok.col,
                )
            return line + f"{tok.text} = {code};", j
        code, _, i = self.expr(t, i)
        return line + code + ";", i

    # expressions: precedence climbing
    BINOPS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!="),
        ("<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def expr(self, t: list[Tok], i: int, level: int = 0) -> tuple[str, str, int]:
        if level == len(self.BINOPS):
            return self.unary(t, i)
        left, lty, i = self.expr(t, i, level + 1)
        while t[i].text in self.BINOPS[level]:
            op = t[i].text
            right, rty, i = self.expr(t, i + 1, level + 1)
            if op == "+" and lty == "string" and rty == "string":
                left = f"wyn_concat({left}, {right})"
            elif lty == "string" and rty == "string" and op in ("==", "!="):
                left = f"(strcmp({left}, {right}) {op} 0)"
                lty = "int"
            elif lty != "int" or rty != "int":
                bad = rty if lty == "int" else lty
                raise WynError(
                    f"Type mismatch at line {t[i - 1].line}:{t[i - 1].col}\n  Expected: int\n  Got:      {bad}",
                    t[i - 1].line,
                    t[i - 1].col,
                )
            elif op in ("/", "%"):
                left = f"wyn_div({left}, {right}, {op == '%':d})"
            else:
                left = f"({left} {op} {right})"
        return left, lty, i

    def unary(self, t: list[Tok], i: int) -> tuple[str, str, int]:
        if t[i].text in ("-", "!"):
            code, ty, j = self.unary(t, i + 1)
            return f"({t[i].text}{code})", ty, j
        code, ty, i = self.primary(t, i)
        while t[i].text == "[":
            idx, _, j = self.expr(t, i + 1)
            self.expect(t, j, "]")
            code = f"wyn_index({code}, {idx}, {c_string(self.mod.path)}, {t[i].line})"
            ty = "int"
            i = j + 1
        return code, ty, i

    def primary(self, t: list[Tok], i: int) -> tuple[str, str, int]:
        tok = t[i]
        if tok.kind == "int":
            return tok.text + "LL", "int", i + 1
        if tok.text in ("true", "false"):
            return ("1" if tok.text == "true" else "0"), "int", i + 1
        if tok.kind == "string":
            return self.string(tok), "string", i + 1
        if tok.text == "(":
            code, ty, j = self.expr(t, i + 1)
            self.expect(t, j, ")")
            return f"({code})", ty, j + 1
        if tok.text == "[":
            items, j = [], i + 1
            while t[j].text != "]":
                code, _, j = self.expr(t, j)
                items.append(code)
                if t[j].text == ",":
                    j += 1
            arr = ", ".join(items) or "0"
            return f"wyn_arr({len(items)}, (long long[]){{{arr}}})", "arr", j + 1
        if tok.kind == "ident":
            if t[i + 1].text == "(":
                return self.call(t, i, self.mod, tok.text)
            if tok.text == "Time" and t[i + 1].text == "." and t[i + 2].text == "sleep" and t[i + 3].text == "(":
                args, j = self.args(t, i + 3)  # the built-in Time module: Time.sleep(ms)
                return f"usleep((useconds_t)(({args[0][0]}) * 1000))", "void", j
            if t[i + 1].text == "." and t[i + 2].kind == "ident" and t[i + 3].text == "(":
                key = self.mod.aliases.get(tok.text)
                if key is None:
                    raise WynError(f"Undefined variable '{tok.text}'", tok.line, tok.col, checker=True)
                return self.call(t, i + 2, self.modules[key], t[i + 2].text, qualified=tok.text)
            ty = self.lookup(tok.text)
            if ty is None:
                raise WynError(f"Undefined variable '{tok.text}'", tok.line, tok.col, checker=True)
            return tok.text, ty, i + 1
        raise WynError(f"Unexpected token '{tok.text or 'end of file'}'", tok.line, tok.col)

    def string(self, tok: Tok) -> str:
        text = unescape(tok.text)
        parts = re.split(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)
        code = c_string(parts[0])
        for k in range(1, len(parts), 2):
            ty = self.lookup(parts[k])
            if ty is None:
                raise WynError(f"Undefined variable '{parts[k]}'", tok.line, tok.col, checker=True)
            val = parts[k] if ty == "string" else f"wyn_itoa({parts[k]})"
            code = f"wyn_concat(wyn_concat({code}, {val}), {c_string(parts[k + 1])})"
        return code

    def args(self, t: list[Tok], i: int) -> tuple[list[tuple[str, str]], int]:
        self.expect(t, i, "(")
        i += 1
        out = []
        while t[i].text != ")":
            code, ty, i = self.expr(t, i)
            out.append((code, ty))
            if t[i].text == ",":
                i += 1
            elif t[i].text != ")":
                raise WynError("Expected ')' after arguments", t[i].line, t[i].col)
        return out, i + 1

    def call(self, t: list[Tok], i: int, mod: Module, name: str, qualified: str = "") -> tuple[str, str, int]:
        tok = t[i]
        args, j = self.args(t, i + 1)
        if not qualified and name in BUILTINS:
            return self.builtin(tok, name, args), "void" if name != "len" else "int", j
        fn = mod.fns.get(name)
        if fn is None:
            shown = f"{qualified}.{name}" if qualified else name
            raise WynError(f"Undefined function '{shown}'", tok.line, tok.col, checker=True)
        if len(args) != len(fn.params):
            raise WynError(
                f"Function '{name}' expects {len(fn.params)} arguments, got {len(args)}",
                tok.line,
                tok.col,
                checker=True,
            )
        cname = "wyn_main" if (name == "main" and mod is self.entry) else f"f_{mod.name}_{name}"
        return f"{cname}({', '.join(a for a, _ in args)})", fn.ret, j

    def builtin(self, tok: Tok, name: str, args: list[tuple[str, str]]) -> str:
        def val(code: str, ty: str) -> str:
            return code if ty == "string" else f"wyn_itoa({code})"

        if name in ("println", "print"):
            return f"wyn_println({val(*args[0]) if args else chr(34) * 2})"
        if name == "print_str":  # no newline, as Wyn's print_str
            return f'printf("%s", {val(*args[0]) if args else chr(34) * 2})'
        if name == "panic":
            return f"wyn_panic({val(*args[0])})"
        if name == "exit":
            return f"exit((int){args[0][0]})"
        if name == "assert":
            return f"wyn_assert({args[0][0]})"
        if name == "assert_eq":
            (a, aty), (b, bty) = args
            if aty != bty:
                raise WynError(f"assert_eq of {aty} and {bty}", tok.line, tok.col, checker=True)
            return f"wyn_assert_eq({val(a, aty)}, {val(b, bty)})"
        if name == "len":
            return f"({args[0][0]}).len"
        if name == "__c":
            return unescape_c(args[0][0])
        raise AssertionError(name)


CTYPE = {"int": "long long", "string": "const char*", "arr": "WynArr", "void": "int"}
BUILTINS = {"println", "print", "print_str", "panic", "exit", "assert", "assert_eq", "len", "__c"}


def unescape_c(code: str) -> str:
    """The argument of __c() is a C string literal of C code: decode it."""
    m = re.fullmatch(r'"(.*)"', code, re.DOTALL)
    if not m:
        raise WynError("__c() takes a string literal", 0)
    return re.sub(
        r"\\([0-7]{3}|.)", lambda g: chr(int(g.group(1), 8)) if len(g.group(1)) == 3 else g.group(1), m.group(1)
    )


# The generated C only includes the runtime header, as Wyn's does: ROOT/src/wyn_runtime.h, where ROOT is
# $WYN_ROOT or the stand-in's own root, where the driver writes RUNTIME_HEADER (roots.py).
RUNTIME = '#include "wyn_runtime.h"\n'
RUNTIME_HEADER = r"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>
#ifndef WYN_RELEASE_FLAG
#define WYN_RELEASE_FLAG 0
#endif
#ifndef WYN_CC_FLAG
#define WYN_CC_FLAG 0
#endif
typedef struct { long long len; long long *data; } WynArr;
static int wyn_fail_count = 0;
static WynArr wyn_arr(long long n, long long *src) {
  WynArr a; a.len = n; a.data = malloc(sizeof(long long) * (n ? n : 1));
  memcpy(a.data, src, sizeof(long long) * n); return a;
}
static long long wyn_index(WynArr a, long long i, const char *file, int line) {
  if (i < 0 || i >= a.len) {
    fflush(stdout);
    fprintf(stderr, "panic at %s:%d: array index out of bounds: index %lld, length %lld\n", file, line, i, a.len);
    exit(1);
  }
  return a.data[i];
}
static const char *wyn_itoa(long long v) { char *b = malloc(32); snprintf(b, 32, "%lld", v); return b; }
static const char *wyn_concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b); char *r = malloc(la + lb + 1);
  memcpy(r, a, la); memcpy(r + la, b, lb + 1); return r;
}
static void wyn_println(const char *s) { printf("%s\n", s); }
static void wyn_panic(const char *s) { printf("Panic: %s\n", s); fflush(stdout); exit(1); }
static long long wyn_div(long long a, long long b, int mod) {
  if (b == 0) { fflush(stdout); fprintf(stderr, "panic: division by zero\n"); exit(1); }
  return mod ? a % b : a / b;
}
static void wyn_assert(long long c) {
  if (!c) { wyn_fail_count++; fflush(stdout); fprintf(stderr, "    \033[31massert failed\033[0m\n"); }
}
static void wyn_assert_eq(const char *got, const char *expected) {
  if (strcmp(got, expected) != 0) {
    wyn_fail_count++; fflush(stdout);
    fprintf(stderr, "    \033[31massert_eq failed\033[0m\n      expected: %s\n      got:      %s\n", expected, got);
  }
}
"""

