"""Generate a Wyn test suite for benchmarks and the mutation run.

A mix of the three kinds of test file (program, output, test blocks), some of
them importing modules that import modules, all passing, all written in the
Wyn subset that both the stand-in and real Wyn v1.20.0 accept. As in a real
suite, 5 % of the files take a while to run: half of them sleep (0.2-1.5 s,
timers and channels in real suites), half of them burn CPU.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

STANDIN = Path(__file__).resolve().parent.parent / "wyn_standin.py"


def write_launcher(root: Path, real: str | None = None) -> Path:
    target = f'exec {real} "$@"' if real else f'exec {sys.executable} {STANDIN} "$@"'
    wyn = root / "wyn"
    wyn.write_text(f"#!/bin/sh\n{target}\n")
    wyn.chmod(0o755)
    return wyn


def generate(root: Path, files: int, real: str | None = None) -> list[Path]:
    """Write ``files`` test files under root/tests plus modules; returns the test files."""
    if root.exists():
        shutil.rmtree(root)
    tests = root / "tests"
    (tests / "lib").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\nwyn = true\ntestpaths = tests\n")
    write_launcher(root, real)
    (tests / "base.wyn").write_text("pub fn inc(x: int) -> int {\n    return x + 1\n}\n")
    (tests / "shapes.wyn").write_text(
        "import base\n\npub fn area(w: int, h: int) -> int {\n    return base.inc(w * h) - 1\n}\n"
    )
    out: list[Path] = []
    for n in range(files):
        kind = n % 4
        path = tests / f"test_{n:04d}.wyn"
        if n % 40 == 19:
            ms = sleep_ms(n)
            text = f'// EXPECT: slept {ms}\nTime.sleep({ms})\nprintln("slept {ms}")\n'
        elif n % 40 == 39:
            text = (
                f"fn main() -> int {{\n    var i = 0\n    var s = 0\n    while i < {CPU_LOOP} {{\n"
                f"        s = s + i % 7\n        i = i + 1\n    }}\n    if s != {_loop_sum()} {{\n"
                f"        return 1\n    }}\n    return 0\n}}\n"
            )
        elif kind == 0:
            text = f"fn main() -> int {{\n    var x = {n} * 2\n    if x != {n * 2} {{\n        return 1\n    }}\n    return 0\n}}\n"
        elif kind == 1:
            text = f'// EXPECT: case {n}\n// EXPECT: {n * 3}\nprintln("case {n}")\nvar v = {n} * 3\nprintln(v)\n'
        elif kind == 2:
            text = "".join(f'test "block {b} of {n}" {{\n    assert_eq({n} + {b}, {n + b})\n}}\n\n' for b in range(5))
        else:
            text = (
                "import shapes\n\n"
                f'test "area {n}" {{\n    assert_eq(shapes.area({n % 7 + 1}, 3), {(n % 7 + 1) * 3})\n}}\n\n'
                f'test "square {n}" {{\n    assert(shapes.area(2, 2) == 4)\n}}\n'
            )
        path.write_text(text)
        out.append(path)
    return out


CPU_LOOP = 100_000_000  # about 0.3 s of CPU at the stand-in's -O0


def sleep_ms(n: int) -> int:
    return 200 + (n * 37) % 1300


def _loop_sum() -> int:
    full, rest = divmod(CPU_LOOP, 7)
    return full * 21 + rest * (rest - 1) // 2


def slow_file(n: int) -> bool:
    return n % 40 in (19, 39)


def expected_items(files: int) -> int:
    return sum(1 if slow_file(n) else {0: 1, 1: 1, 2: 5, 3: 2}[n % 4] for n in range(files))


def print_goals(checks: list[tuple[str, bool]]) -> int:
    """Every goal, met or missed, in the form the smoke tests read; the scripts' exit status (0)."""
    print()
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    return 0
