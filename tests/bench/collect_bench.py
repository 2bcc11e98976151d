#!/usr/bin/env python3
"""Collection speed: .wyn test blocks against Python test functions, side by side.

    python tests/bench/collect_bench.py [--files 2000] [--blocks 10] [--rounds 3]

Generates FILES .wyn files with BLOCKS `test "name"` blocks each and FILES
Python files with BLOCKS trivial test functions each, then times
`pytest --collect-only -q` over each, alternating, after one warm-up run each
(which lets Python write its bytecode caches). Goal: the .wyn collection takes
no longer than the Python one. Not a test: read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(root: Path, files: int, blocks: int) -> tuple[Path, Path]:
    wyn, py = root / "wyn", root / "py"
    for d in (wyn, py):
        d.mkdir(parents=True)
    (wyn / "pytest.ini").write_text("[pytest]\nwyn = true\n")
    (py / "pytest.ini").write_text("[pytest]\n")
    for n in range(files):
        sub = f"d{n // 100:02d}"
        (wyn / sub).mkdir(exist_ok=True)
        (py / sub).mkdir(exist_ok=True)
        wyn_text = "".join(
            f'// block {b}\ntest "case {b} of file {n}" {{\n    var x = {b} + {n}\n    assert_eq(x, {b + n})\n}}\n\n'
            for b in range(blocks)
        )
        (wyn / sub / f"test_{n:05d}.wyn").write_text(wyn_text)
        py_text = "".join(
            f"def test_case_{b}():\n    x = {b} + {n}\n    assert x == {b + n}\n\n\n" for b in range(blocks)
        )
        (py / sub / f"test_{n:05d}.py").write_text(py_text)
    return wyn, py


def collect(path: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - start
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return wall, last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    with tempfile.TemporaryDirectory(prefix="wyn-collect-") as tmp:
        wyn, py = generate(Path(tmp), args.files, args.blocks)
        print(f"warm-up: wyn {collect(wyn, env)[1]!r}, python {collect(py, env)[1]!r}")
        times: dict[str, list[float]] = {"wyn": [], "python": []}
        for _ in range(args.rounds):
            times["wyn"].append(collect(wyn, env)[0])
            times["python"].append(collect(py, env)[0])
    w, p = statistics.median(times["wyn"]), statistics.median(times["python"])
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.files} files x {args.blocks} tests, median of {args.rounds} rounds")
    print("| collection | seconds (median) | runs |\n|---|---|---|")
    print(f"| pytest --collect-only, .wyn blocks | {w:.2f} | {', '.join(f'{t:.2f}' for t in times['wyn'])} |")
    print(f"| pytest --collect-only, Python functions | {p:.2f} | {', '.join(f'{t:.2f}' for t in times['python'])} |")
    print(f"ratio wyn/python: {w / p:.2f}  [{'ok' if w <= p else 'MISSED'}] goal: <= 1.0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
