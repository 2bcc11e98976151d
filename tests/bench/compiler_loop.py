"""The compiler developer's loop, measured on a real Wyn repository (issue 29).

    WYN_SRC=/path/to/wyn/checkout python tests/bench/compiler_loop.py --a COMMIT --b COMMIT [--suite expect]

Clones WYN_SRC into a scratch folder, builds the compiler at commit A (make), runs the suite
with pytest-wyn (cold), then checks out commit B in the same tree and rebuilds it in place, as a
compiler developer does, and runs the suite again on the same cache (A's first level misses
everywhere: a new compiler; the second level reuses every C compile whose generated C did not
change). Then B again on an empty cache, for the cold reference, and the golden-C snapshots.
Prints each run's time, the ratio, the share of C compiles reused, and whether every verdict
of B on the warm cache equals B on the empty one.

Goals (issue 29): after an edit that leaves >= 90 % of the generated C unchanged, a run takes
<= 0.15x a cold run; Wyn's golden snapshots in <= 3 s. Nothing of Wyn is kept in this repository:
the scratch folder is outside it (--work, default a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITES = {
    "expect": ["tests/expect"],
    "bdd": ["tests/expect", "tests/regression"],
}
# Wyn's own companion modules in tests/regression (no EXPECT lines, imported by a test): not tests.
MODULES = ["tests/regression/state.wyn", "tests/regression/w9_shapes.wyn"]


def sh(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)


def build(tree: Path, commit: str, jobs: int) -> float:
    done = sh(["git", "checkout", "--quiet", "--force", commit], tree)
    if done.returncode != 0:
        sys.exit(f"git checkout {commit}: {done.stderr.strip()}")
    started = time.monotonic()
    made = sh(["make", f"-j{jobs}"], tree)
    if made.returncode != 0 or not (tree / "wyn").is_file():
        sys.exit(f"make at {commit} failed:\n{made.stdout[-2000:]}{made.stderr[-2000:]}")
    return time.monotonic() - started


def write_ini(where: Path, paths: list[str]) -> Path:
    ini = where / "pytest.ini"
    ignores = " ".join(f"--ignore={m}" for m in MODULES)
    ini.write_text(
        "[pytest]\nwyn = true\n"
        f"testpaths = {' '.join(paths)}\n"
        "wyn_files = *.wyn\n"
        f"addopts = -p no:cacheprovider -p no:randomly -rA {ignores}\n"
    )
    return ini


def run_suite(tree: Path, ini: Path, cache: Path, paths: list[str]) -> tuple[float, str]:
    env = dict(os.environ, PYTEST_WYN_CACHE_DIR=str(cache))
    env.pop("PYTEST_WYN_C_CACHE_DIR", None)
    argv = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(tree), f"--wyn-compiler={tree / 'wyn'}"]
    started = time.monotonic()
    done = sh([*argv, *paths], tree, env)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"pytest exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout


def verdicts(output: str) -> list[str]:
    return sorted(line.split(" - ")[0] for line in output.splitlines() if line.startswith(("PASSED ", "FAILED ")))


def c_reuse(output: str) -> tuple[int, int]:
    m = re.search(r"C generated for (\d+) of them: (\d+) C compile\(s\) reused", output)
    return (int(m.group(2)), int(m.group(1))) if m else (0, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="the commit before the compiler edit")
    parser.add_argument("--b", required=True, help="the commit after it")
    parser.add_argument("--suite", choices=sorted(SUITES), default="expect")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one, removed after)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    source = os.environ.get("WYN_SRC")
    if not source:
        sys.exit("set WYN_SRC to a Wyn git repository (a checkout or a bare clone)")
    work = args.work or Path(tempfile.mkdtemp(prefix="wyn-compiler-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    tree = work / "wyn"
    try:
        if not tree.is_dir():
            done = sh(["git", "clone", "--quiet", "--no-checkout", source, str(tree)], work)
            if done.returncode != 0:
                sys.exit(f"git clone {source}: {done.stderr.strip()}")
        paths = SUITES[args.suite]
        ini = write_ini(work, paths)
        warm, empty = work / "cache", work / "cache-empty"
        for old in (warm, empty):
            shutil.rmtree(old, ignore_errors=True)
        build_a = build(tree, args.a, args.jobs)
        cold_a, _ = run_suite(tree, ini, warm, paths)
        build_b = build(tree, args.b, args.jobs)
        after_edit, out_b = run_suite(tree, ini, warm, paths)
        cold_b, out_cold = run_suite(tree, ini, empty, paths)
        golden, out_golden = run_suite(tree, ini, empty, ["tests/golden"])
        reused, generated = c_reuse(out_b)
        share = reused / generated if generated else 0.0
        ratio = after_edit / cold_b if cold_b else 0.0
        same = verdicts(out_b) == verdicts(out_cold)
        print(f"suite {args.suite} ({len(verdicts(out_cold))} tests), {args.a} -> {args.b}, {args.jobs} make jobs")
        print(f"  build A {build_a:.1f} s, build B {build_b:.1f} s (in place)")
        print(f"  A cold:                   {cold_a:7.2f} s")
        print(f"  B after the edit (warm):  {after_edit:7.2f} s   C compiles reused: {reused} of {generated} ({share:.1%})")
        print(f"  B cold (empty cache):     {cold_b:7.2f} s")
        print(f"  ratio after-edit / cold:  {ratio:.3f}   goal <= 0.15 when >= 90 % of the C is unchanged: "
              f"{'met' if ratio <= 0.15 else 'NOT met'}{'' if share >= 0.9 else ' (the C changed more than 10 %)'}")
        golden_count = len(verdicts(out_golden))
        print(f"  golden snapshots: {golden_count} in {golden:.2f} s   goal <= 3 s: {'met' if golden <= 3 else 'NOT met'}")
        print(f"  verdicts of B warm == B cold: {same}")
        return 0 if same else 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
