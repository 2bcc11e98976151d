#!/usr/bin/env python3
"""Benchmark pytest-wyn against the seed's bash runner and every explicit -n, side by side.

    python tests/bench/suite_bench.py [--sizes 6,40,200] [--delay 1.2] [--quick]

For each suite size it generates a suite (gen_suite.py: 5 % of the files sleep
or burn CPU for 0.2-1.5 s, as real suites do), then runs, one after another:
the seed's bash runner, pytest-wyn cold with its defaults, warm, with one file
changed, and cold with each explicit ``-n``. Compile cost is the stand-in's
CPU-burning delay knob (WYN_STANDIN_DELAY), or the real compiler when
WYN_REAL is set. Prints a table per size, then checks issue 11's goals.
Not a test: timings on a shared 2-core machine are noisy, so read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_suite

# The seed's runner, rewritten for the benchmark: xargs -P 12 over `wyn build` + run,
# EXPECT lines compared as tests/run_bdd.sh does, exit 0 otherwise.
BASH_RUNNER = r"""
set -u
work=$(mktemp -d)
run_one() {
    f="$1"; work="$2"
    bin="$work/$(echo "$f" | tr / _)"
    if ! ./wyn build "$f" -o "$bin" >/dev/null 2>&1; then rm -f "$f.c"; echo FAIL; return; fi
    rm -f "$f.c"
    out=$("$bin" 2>&1 </dev/null); rc=$?
    expected=$(grep '// EXPECT:' "$f" | sed 's|// EXPECT: ||')
    if [ -n "$expected" ]; then
        [ "$(echo "$out" | head -n "$(echo "$expected" | wc -l)")" = "$expected" ] && echo PASS || echo FAIL
    else
        [ "$rc" -eq 0 ] && echo PASS || echo FAIL
    fi
}
export -f run_one
find tests -name 'test_*.wyn' | sort | xargs -P 12 -I{} bash -c 'run_one "$@"' _ {} "$work" > "$work/results"
echo "passed=$(grep -c PASS "$work/results") failed=$(grep -c FAIL "$work/results")"
rm -rf "$work"
"""


@dataclass
class Row:
    name: str
    wall: float
    cpu: float
    passed: int
    failed: int
    note: str = ""
    out: str = ""


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout + proc.stderr


def pytest_row(name: str, root: Path, env: dict[str, str], cache: Path, *args: str) -> Row:
    cmd = [sys.executable, "-m", "pytest", "-q", f"--wyn-cache-dir={cache}", *args]
    wall, cpu, out = timed(cmd, root, env)
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", out)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", out)) else 0
    summary = re.search(r"compiled (\d+) file\(s\).*?(\d+) from the cache", out)
    note = f"compiled {summary.group(1)}, cached {summary.group(2)}" if summary else out[-300:].strip()
    return Row(name, wall, cpu, passed, failed, note, out)


def plugin_overhead(root: Path, cache: Path, env: dict[str, str]) -> float:
    """Per-file cost of the plugin's own work on a warm cache: key, lookup, verified copy."""
    code = f"""
import os, sys, time
from pathlib import Path
os.chdir({str(root)!r})
from pytest_wyn.engine.build import Builder
from pytest_wyn.engine.cache import Store
from pytest_wyn.engine.settings import Settings
from pytest_wyn.engine.toolchain import CompileCommand, load_toolchain
tc = load_toolchain(None, None, None, Path('.').resolve())
store = Store(Path({str(cache)!r}))
b = Builder(tc, CompileCommand.parse('', [], None), Path('.').resolve(), store, Settings.defaults(store.root))
files = sorted(Path('tests').resolve().glob('test_*.wyn'))
for f in files[:5]:
    b.build(f)
start = time.perf_counter()
for f in files:
    r = b.build(f)
    assert r.cached, f
print((time.perf_counter() - start) / len(files) * 1000)
b.close()
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(out.stdout, out.stderr)
        return float("nan")


def slowest_run(root: Path) -> float:
    """The longest single binary run of the last session, from the plugin's own record."""
    record = json.loads((root / ".pytest_cache" / "v" / "wyn" / "files").read_text())
    return max(costs["run_seconds"] for costs in record.values())


def bench_size(files: int, delay: float, quick: bool, real: str | None, env: dict[str, str]) -> list[tuple[str, bool]]:
    work = Path(tempfile.mkdtemp(prefix="wyn-bench-"))
    root = work / "suite"
    gen_suite.generate(root, files, real)
    items = gen_suite.expected_items(files)
    rows: list[Row] = []
    wall, cpu, out = timed(["bash", "-c", BASH_RUNNER], root, env)
    m = re.search(r"passed=(\d+) failed=(\d+)", out)
    rows.append(
        Row("bash xargs -P 12 (seed)", wall, cpu, int(m.group(1)) if m else 0, int(m.group(2)) if m else 0, "files")
    )
    cache = work / "cache-default"
    cold = pytest_row("pytest --wyn cold (defaults)", root, env, cache)
    warm = pytest_row("pytest --wyn warm", root, env, cache)
    rows += [cold, warm]
    slowest = slowest_run(root)
    start_wall, _, _ = timed([sys.executable, "-m", "pytest", "--collect-only", "-q"], root, env)
    changed = root / "tests" / "test_0001.wyn"
    changed.write_text(changed.read_text() + "// changed\n")
    one = pytest_row("pytest --wyn one file changed", root, env, cache)
    rows.append(one)
    overhead = plugin_overhead(root, cache, env)
    explicit: list[Row] = []
    for n in (2,) if quick else (1, 2, 4, 12):
        explicit.append(pytest_row(f"pytest --wyn -n {n} cold", root, env, work / f"cache-n{n}", "-n", str(n)))
    rows += explicit
    bash = rows[0]
    ncpu = os.cpu_count() or 1
    print(f"\nsuite: {files} files, {items} pytest items; compiler: {real or f'stand-in, delay {delay} s CPU'}")
    print(f"| {'run':32} | {'wall s':>7} | {'CPU %':>5} | {'passed':>6} | {'failed':>6} | {'x bash':>6} | note")
    print(f"|{'-' * 34}|{'-' * 9}|{'-' * 7}|{'-' * 8}|{'-' * 8}|{'-' * 8}|------")
    for r in rows:
        util = 100 * r.cpu / (r.wall * ncpu) if r.wall else 0
        print(
            f"| {r.name:32} | {r.wall:7.2f} | {util:5.0f} | {r.passed:6} | {r.failed:6} | {r.wall / bash.wall:6.2f} | {r.note}"
        )
    compiled = re.search(r"compiled \d+ file\(s\) in (\d+\.\d+) s", cold.out)
    compile_seconds = float(compiled.group(1)) if compiled else files * delay
    one_compile = compile_seconds / max(files, 1)
    physical = compile_seconds / ncpu  # every compile's own time, one per core at a time
    best = min(explicit, key=lambda r: r.wall)
    budget = start_wall + slowest + 1.5
    print(f"pytest start-up + collection {start_wall:.2f} s; slowest single test {slowest:.2f} s")
    print(f"plugin overhead per file on a warm cache (key + lookup + verified copy): {overhead:.2f} ms")
    shutil.rmtree(work, ignore_errors=True)
    return [
        (f"[{files}] warm >= 60x faster than cold ({cold.wall / warm.wall:.1f}x)", cold.wall >= 60 * warm.wall),
        (
            f"[{files}] warm within 1.5 s of start-up + collection + slowest test ({warm.wall:.2f} <= {budget:.2f})",
            warm.wall <= budget,
        ),
        (
            f"[{files}] one changed <= warm + 1.2 compiles ({one.wall:.2f} <= {warm.wall + 1.2 * one_compile:.2f})",
            one.wall <= warm.wall + 1.2 * one_compile,
        ),
        (
            f"[{files}] cold within 5 % of compile CPU / cores ({cold.wall:.1f} <= {1.05 * physical:.1f})",
            cold.wall <= 1.05 * physical,
        ),
        (
            f"[{files}] cold never slower than the best explicit -n ({cold.wall:.1f} vs {best.name}: {best.wall:.1f})",
            cold.wall <= best.wall * 1.05,
        ),
        (f"[{files}] plugin overhead < 5 ms per file ({overhead:.2f} ms)", overhead < 5),
        (
            f"[{files}] same passes for every pytest run",
            len({r.passed for r in rows[1:]}) == 1 and rows[1].passed == items,
        ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="6,40,200", help="suite sizes, comma-separated")
    ap.add_argument("--delay", type=float, default=1.2, help="stand-in compile cost in CPU seconds")
    ap.add_argument("--quick", action="store_true", help="only -n 2 among the explicit worker counts")
    args = ap.parse_args()
    real = os.environ.get("WYN_REAL")
    skip = ("PYTEST_WYN", "PYTEST_XDIST", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env["WYN_STANDIN_DELAY"] = "0" if real else str(args.delay)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")
    checks: list[tuple[str, bool]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        checks += bench_size(size, args.delay, args.quick, real, env)
    return gen_suite.print_goals(checks)


if __name__ == "__main__":
    sys.exit(main())
