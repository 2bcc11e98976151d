#!/usr/bin/env python3
"""The shared remote cache, side by side in one run (issue 21's goals).

    python tests/bench/remote_bench.py [--files 200] [--delay 1.2] [--real-suite DIR]

Over a generated suite (gen_suite.py; compile cost is the stand-in's
CPU-burning WYN_STANDIN_DELAY, or the real compiler when WYN_REAL is set),
one after another (and, with WYN_REAL set, the same suite compiled by that
real Wyn):

  cold    no remote, empty local cache (the reference)
  A       cold with writes: fills the server (nginx with WebDAV PUT where installed, else wsgidav) on 127.0.0.1
  warm    A's local cache again, no remote
  B       an empty local cache reading the remote (a fresh machine)
  C       the remote refusing connections, empty local cache
  D       the remote accepting connections and never answering, empty local cache

Goals: B compiles nothing and is within 0.5 s of warm; C within 2 % of cold;
D at most cold + one request timeout (wyn_remote_cache_timeout, 5 s). With
``--real-suite DIR`` (a checkout's test directory, run with WYN_REAL as ./wyn),
the same rows for that suite. Not a test: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import gen_suite  # noqa: E402
from servers import FaultServer, Server, make_key, start_nginx, start_wsgidav  # noqa: E402

TIMEOUT = 5.0


def run(name: str, root: Path, env: dict[str, str], cache: Path, remote: dict[str, str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", f"--wyn-cache-dir={cache}"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env={**env, **remote}, capture_output=True, text=True)
    wall = time.monotonic() - start
    out = proc.stdout + proc.stderr
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", out)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", out)) else 0
    compiled = int(m.group(1)) if (m := re.search(r"compiled (\d+) file", out)) else -1
    fetched = m.group(0) if (m := re.search(r"remote cache: [^\n]*", out)) else ""
    return {"name": name, "wall": wall, "passed": passed, "failed": failed, "compiled": compiled, "remote": fetched}


def start_server(kind: str, work: Path) -> tuple[Server, str]:
    """The cache server and the URL a writer uses (nginx: writes need the password)."""
    if kind == "nginx":
        server = start_nginx(work / "nginx", "bench", "bench-password")
        return server, server.url.replace("http://", "http://bench:bench-password@")
    server = start_wsgidav(work / "dav")
    return server, server.url


def bench(root: Path, work: Path, env: dict[str, str], label: str, kind: str) -> list[tuple[str, bool]]:
    work.mkdir(parents=True, exist_ok=True)
    public = make_key(work / "key", "bench")
    reader = {"PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS": public, "PYTEST_WYN_REMOTE_CACHE_TIMEOUT": str(TIMEOUT)}
    dav, write_url = start_server(kind, work)
    label = f"{label}, {kind} on loopback"
    silent = FaultServer("silent")
    rows = []
    try:
        rows.append(run("cold (no remote)", root, env, work / "cache-cold", {}))
        writer = {
            **reader,
            "PYTEST_WYN_REMOTE_CACHE": write_url,
            "PYTEST_WYN_REMOTE_CACHE_WRITE": "1",
            "PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY": str(work / "key"),
        }
        rows.append(run("A cold, writing", root, env, work / "cache-a", writer))
        rows.append(run("warm local", root, env, work / "cache-a", {}))
        rows.append(
            run("B fresh, reading", root, env, work / "cache-b", {**reader, "PYTEST_WYN_REMOTE_CACHE": dav.url})
        )
        refused = {**reader, "PYTEST_WYN_REMOTE_CACHE": "http://127.0.0.1:9/"}
        rows.append(run("C remote refusing", root, env, work / "cache-c", refused))
        rows.append(
            run("D remote silent", root, env, work / "cache-d", {**reader, "PYTEST_WYN_REMOTE_CACHE": silent.url})
        )
    finally:
        dav.stop()
        silent.stop()
    print(f"\n{label}")
    print(f"| {'run':<20} | {'wall s':>7} | {'compiled':>8} | {'passed':>6} | {'failed':>6} | remote")
    print(f"|{'-' * 22}|{'-' * 9}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 30}")
    for r in rows:
        print(
            f"| {r['name']:<20} | {r['wall']:>7.2f} | {r['compiled']:>8} | {r['passed']:>6} | {r['failed']:>6} | "
            f"{r['remote']}"
        )
    cold, _writer, warm, b, c, d = rows
    same = all((r["passed"], r["failed"]) == (cold["passed"], cold["failed"]) for r in rows)
    return [
        (f"{label}: every run gives the same verdicts", same),
        (f"{label}: B compiles nothing (compiled {b['compiled']})", b["compiled"] == 0),
        (
            f"{label}: B within 0.5 s of warm ({b['wall']:.2f} s vs {warm['wall']:.2f} s)",
            float(b["wall"]) <= float(warm["wall"]) + 0.5,  # type: ignore[arg-type]
        ),
        (
            f"{label}: C within 2 % of cold ({c['wall']:.2f} s vs {cold['wall']:.2f} s)",
            float(c["wall"]) <= float(cold["wall"]) * 1.02,  # type: ignore[arg-type]
        ),
        (
            f"{label}: D at most cold + one timeout ({d['wall']:.2f} s vs {cold['wall']:.2f} + {TIMEOUT:g} s)",
            float(d["wall"]) <= float(cold["wall"]) + TIMEOUT,  # type: ignore[arg-type]
        ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--delay", type=float, default=1.2, help="stand-in compile cost in CPU seconds")
    default_server = "nginx" if shutil.which("nginx") or Path("/usr/sbin/nginx").exists() else "wsgidav"
    ap.add_argument("--server", choices=["nginx", "wsgidav"], default=default_server, help="the cache server")
    ap.add_argument("--real-suite", type=Path, help="a directory of real Wyn tests, run with WYN_REAL (not kept)")
    args = ap.parse_args()
    real = os.environ.get("WYN_REAL")
    skip = ("PYTEST_WYN", "PYTEST_XDIST", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env["WYN_STANDIN_DELAY"] = str(args.delay)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )
    checks: list[tuple[str, bool]] = []
    work = Path(tempfile.mkdtemp(prefix="wyn-remote-bench-"))
    try:
        root = work / "suite"
        gen_suite.generate(root, args.files)
        checks += bench(
            root, work / "standin", env, f"stand-in suite, {args.files} files, {args.delay:g} s per compile", args.server
        )
        if real:
            real_gen = work / "real-generated"
            gen_suite.generate(real_gen, args.files, real)
            label = f"generated suite compiled by real Wyn ({real}), {args.files} files"
            checks += bench(real_gen, work / "real-gen-work", {**env, "WYN_STANDIN_DELAY": "0"}, label, args.server)
        if args.real_suite is not None:
            if not real:
                print("--real-suite needs WYN_REAL (a real Wyn compiler)")
                return 2
            real_root = work / "real"
            shutil.copytree(args.real_suite, real_root / "tests")
            (real_root / "pytest.ini").write_text("[pytest]\nwyn = true\ntestpaths = tests\n")
            gen_suite.write_launcher(real_root, real)
            checks += bench(real_root, work / "real-work", {**env, "WYN_STANDIN_DELAY": "0"}, "real Wyn suite", args.server)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return gen_suite.print_goals(checks)


if __name__ == "__main__":
    sys.exit(main())
