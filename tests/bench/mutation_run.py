#!/usr/bin/env python3
"""Stale-verdict hunt: random mutations, then every verdict with the cache against without it.

The cached run is the default one (run-ahead in one process, or the workers
the plan starts); the uncached run is strictly serial (-n0), the reference.

    python tests/bench/mutation_run.py [--mutations 200] [--seed 1] [--remote]

Over a generated project whose tests import modules that import modules, it
repeatedly applies one random mutation: edit a test, edit / create / delete
an imported module (including one that shadows another in Wyn's search order),
swap the compiler for another build, edit the compiler without changing the C it
generates (the second cache level's case), edit the runtime header or rebuild the
runtime library (of a WYN_ROOT, as Wyn's), toggle compile arguments, set WYN_CC
to one of two C-compiler wrappers or unset it, or touch files without changing them. After each it runs the suite with the
cache and with ``--wyn-no-cache`` and compares every test's verdict. Prints
the counts; exits 1 on any difference.

With ``--remote``, a shared cache is in the loop: the cached run writes it
(signed), and after it a reader with an empty local cache takes what it can
from it; both are compared with the reference.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

STANDIN = Path(__file__).resolve().parent.parent / "wyn_standin.py"
sys.path.insert(0, str(STANDIN.parent))


class Project:
    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.tests = root / "tests"
        self.tests.mkdir(parents=True)
        (root / "modules").mkdir()
        (root / "pytest.ini").write_text("[pytest]\nwyn = true\ntestpaths = tests\n")
        # Two builds of the compiler: B rounds integer division down instead of towards zero.
        for which in ("a", "b"):
            shutil.copytree(STANDIN.parent / "standin", root / "tools" / which / "standin")
            shutil.copy(STANDIN, root / "tools" / which / "wyn_standin.py")
        self.compiler_a = root / "tools" / "a" / "wyn_standin.py"
        self.compiler_b = root / "tools" / "b" / "wyn_standin.py"
        generator = root / "tools" / "b" / "standin" / "compiler.py"
        text = generator.read_text()
        floor = "return mod ? a % b : a / b;"
        assert floor in text
        generator.write_text(
            text.replace(floor, "return mod ? a % b : (a / b - ((a % b != 0) && ((a < 0) != (b < 0))));")
        )
        self.ccs = {}
        for flag in (1, 2):
            cc = root / "tools" / f"flagcc{flag}"
            cc.write_text(f'#!/bin/sh\nexec cc -DWYN_CC_FLAG={flag} "$@"\n')
            cc.chmod(0o755)
            self.ccs[flag] = cc
        self.use_compiler("a")
        self.args = ""
        self.wyn_cc = 0  # 0: unset; 1 or 2: that wrapper
        self.edits = 0
        # A runtime root as Wyn's (WYN_ROOT): its header defines RT_CONST, its library rt_lib().
        self.rt = root / "tools" / "rt"
        self.rt_header, self.rt_lib = 1, 1
        self.write_runtime()
        self.constants = {"m0": 1, "m1": 2, "m2": 3}
        for name in self.constants:
            self.write_module(name)
        self.expected: dict[str, int] = {}
        for n in range(6):
            self.expected[f"test_chain_{n}"] = 6 + self.rng.choice([0, 0, 1])
            self.write_chain_test(f"test_chain_{n}")
        (self.tests / "test_extra.wyn").write_text('import extra\ntest "extra" {\n    assert_eq(extra.seven(), 7)\n}\n')
        (self.tests / "test_division.wyn").write_text("// EXPECT: -4\nvar a = 0 - 7\nprintln(a / 2)\n")
        (self.tests / "test_release.wyn").write_text(
            '// EXPECT: 0\n__c("printf(\\"%d\\\\n\\", (int)WYN_RELEASE_FLAG);")\n'
        )
        (self.tests / "test_cc.wyn").write_text('// EXPECT: 1\n__c("printf(\\"%d\\\\n\\", (int)WYN_CC_FLAG);")\n')
        (self.tests / "test_rt_header.wyn").write_text('// EXPECT: 1\n__c("printf(\\"%d\\\\n\\", RT_CONST);")\n')
        (self.tests / "test_rt_lib.wyn").write_text(
            '// EXPECT: 1\n__c("extern int rt_lib(void); printf(\\"%d\\\\n\\", rt_lib());")\n'
        )

    def write_runtime(self) -> None:
        from standin.compiler import RUNTIME_HEADER

        (self.rt / "src").mkdir(parents=True, exist_ok=True)
        (self.rt / "runtime").mkdir(exist_ok=True)
        (self.rt / "src" / "wyn_runtime.h").write_text(RUNTIME_HEADER + f"#define RT_CONST {self.rt_header}\n")
        (self.rt / "rt.c").write_text(f"int rt_lib(void) {{ return {self.rt_lib}; }}\n")
        subprocess.run(["cc", "-c", "-o", str(self.rt / "rt.o"), str(self.rt / "rt.c")], check=True)
        (self.rt / "runtime" / "libwyn_rt.a").unlink(missing_ok=True)
        subprocess.run(["ar", "rcs", str(self.rt / "runtime" / "libwyn_rt.a"), str(self.rt / "rt.o")], check=True)

    def use_compiler(self, which: str) -> None:
        target = self.compiler_a if which == "a" else self.compiler_b
        wyn = self.root / "wyn"
        wyn.write_text(f'#!/bin/sh\nexec {sys.executable} -S {target} "$@"\n')
        wyn.chmod(0o755)
        self.compiler = which

    def module_path(self, name: str) -> Path:
        return self.root / "modules" / f"{name}.wyn" if name == "m2" else self.tests / f"{name}.wyn"

    def write_module(self, name: str, where: Path | None = None) -> None:
        nxt = {"m0": "m1", "m1": "m2", "m2": None}[name]
        k = self.constants[name]
        body = f"    return {nxt}.value() + {k}\n" if nxt else f"    return {k}\n"
        head = f"import {nxt}\n\n" if nxt else ""
        (where or self.module_path(name)).write_text(f"{head}pub fn value() -> int {{\n{body}}}\n")

    def write_chain_test(self, name: str) -> None:
        e = self.expected[name]
        (self.tests / f"{name}.wyn").write_text(
            f'import m0\n\ntest "chain" {{\n    assert_eq(m0.value(), {e})\n}}\n\ntest "constant" {{\n    assert(true)\n}}\n'
        )

    # -- mutations
    def mutate(self) -> str:
        kind = self.rng.choice(
            [
                "edit test",
                "edit test",
                "edit module",
                "edit module",
                "shadow module",
                "extra module",
                "swap compiler",
                "edit compiler",
                "edit compiler",
                "runtime header",
                "runtime library",
                "toggle args",
                "toggle WYN_CC",
                "toggle WYN_CC",
                "touch",
            ]
        )
        if kind == "edit test":
            name = self.rng.choice(sorted(self.expected))
            self.expected[name] = 6 + self.rng.choice([-1, 0, 0, 1])
            self.write_chain_test(name)
            return f"edit {name}"
        if kind == "edit module":
            name = self.rng.choice(sorted(self.constants))
            self.constants[name] += self.rng.choice([-1, 1])
            self.write_module(name)
            return f"edit module {name} ({self.constants[name]})"
        if kind == "shadow module":
            shadow = self.tests / "m2.wyn"  # found before ./modules/m2.wyn
            if shadow.exists():
                shadow.unlink()
                return "delete shadowing tests/m2.wyn"
            shadow.write_text(f"pub fn value() -> int {{\n    return {self.rng.choice([3, 4])}\n}}\n")
            return "create shadowing tests/m2.wyn"
        if kind == "extra module":
            extra = self.tests / "extra.wyn"
            if extra.exists():
                extra.unlink()
                return "delete tests/extra.wyn"
            extra.write_text(f"pub fn seven() -> int {{\n    return {self.rng.choice([7, 8])}\n}}\n")
            return "create tests/extra.wyn"
        if kind == "swap compiler":
            self.use_compiler("b" if self.compiler == "a" else "a")
            return f"compiler {self.compiler}"
        if kind == "edit compiler":
            self.edits += 1
            driver = self.root / "tools" / self.compiler / "standin" / "driver.py"
            driver.write_text(driver.read_text() + f"# edit {self.edits}: no change to the C it generates\n")
            return f"edit compiler {self.compiler} (C unchanged)"
        if kind == "runtime header":
            self.rt_header = 3 - self.rt_header
            self.write_runtime()
            return f"runtime header RT_CONST {self.rt_header}"
        if kind == "runtime library":
            self.rt_lib = 3 - self.rt_lib
            self.write_runtime()
            return f"runtime library rt_lib() {self.rt_lib}"
        if kind == "toggle args":
            self.args = "" if self.args else "--release"
            return f"args {self.args!r}"
        if kind == "toggle WYN_CC":
            self.wyn_cc = self.rng.choice([n for n in (0, 1, 2) if n != self.wyn_cc])
            return f"WYN_CC {f'flagcc{self.wyn_cc}' if self.wyn_cc else 'unset'}"
        victim = self.rng.choice(sorted(self.tests.glob("*.wyn")))
        os.utime(victim, (time.time() + 5, time.time() + 5))
        return f"touch {victim.name}"

    def verdicts(self, cache: Path | None, remote: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_WYN", "PYTEST_ADDOPTS", "WYN_CC", "WYN_ROOT"))
        }
        env.update(remote or {})
        if self.wyn_cc:
            env["WYN_CC"] = str(self.ccs[self.wyn_cc])
        env["WYN_ROOT"] = str(self.rt)
        report = self.root / "report.xml"
        # With the cache: the default way (run-ahead, or the workers the plan chooses).
        # Without: strictly serial (-n0), the reference every verdict is compared with.
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
        cmd += [f"--wyn-cache-dir={cache}"] if cache else ["-n0", "--wyn-no-cache"]
        if self.args:
            cmd.append(f"--wyn-compile-args={self.args}")
        done = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, timeout=600)
        if not report.exists():
            raise SystemExit(f"no report from {cmd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        out: dict[str, str] = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            state = "passed"
            for tag in ("failure", "error", "skipped"):
                if case.find(tag) is not None:
                    state = tag
            out[f"{case.get('classname')}::{case.get('name')}"] = state
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mutations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--remote", action="store_true", help="a shared cache in the loop: a writer and a reader")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="wyn-mutation-"))
    differences = 0
    server = None
    writer: dict[str, str] | None = None
    reader: dict[str, str] | None = None
    try:
        if args.remote:
            from servers import FaultServer, make_key

            server = FaultServer("ok")  # an HTTP cache in this process
            public = make_key(work / "key", "mutation-run")
            reader = {"PYTEST_WYN_REMOTE_CACHE": server.url, "PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS": public}
            writer = {**reader, "PYTEST_WYN_REMOTE_CACHE_WRITE": "1"}
            writer["PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY"] = str(work / "key")
        project = Project(work / "project", rng)
        cache = work / "cache"
        start = time.monotonic()
        for n in range(1, args.mutations + 1):
            what = project.mutate()
            cached = project.verdicts(cache, writer)
            fresh = project.verdicts(None)
            diff = {k: (cached.get(k), fresh.get(k)) for k in set(cached) | set(fresh) if cached.get(k) != fresh.get(k)}
            if reader is not None:
                read = project.verdicts(work / f"reader-cache-{n}", reader)
                shutil.rmtree(work / f"reader-cache-{n}", ignore_errors=True)
                diff.update(
                    {
                        f"reader {k}": (read.get(k), fresh.get(k))
                        for k in set(read) | set(fresh)
                        if read.get(k) != fresh.get(k)
                    }
                )
            if not fresh:
                print(f"mutation {n}: no verdicts at all after {what!r}")
                differences += 1
            if diff:
                differences += len(diff)
                print(f"mutation {n} ({what}): cached and uncached verdicts differ: {diff}")
            elif n % 20 == 0:
                print(f"{n} mutations, {differences} differences ({time.monotonic() - start:.0f} s)")
        print(f"mutations: {args.mutations}, verdicts compared per mutation: {len(fresh)}, differences: {differences}")
        if server is not None:
            gets = sum(r.startswith("GET /cas/") for r in server.requests)
            print(f"remote: {len(server.objects)} objects stored, {gets} binaries fetched by readers")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
