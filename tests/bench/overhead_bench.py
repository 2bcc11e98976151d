"""What installing pytest-wyn costs a Python-only project: CPU per pytest run, with the plugin and without.

    python tests/bench/overhead_bench.py [--runs 21]

Runs the same small Python-only project's tests alternately with pytest-wyn loaded (as installed) and
with ``-p no:wyn``, in fresh processes, and prints the median CPU time (user + system) of each and the
median of the differences within each pair. Goal (issue 30): at most 20 ms more than ``-p no:wyn``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GOAL_MS = 20.0


def cpu_of(argv: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wyn-overhead-") as where:
        project = Path(where)
        (project / "pytest.ini").write_text("[pytest]\n")
        for n in range(5):
            (project / f"test_py{n}.py").write_text(f"def test_{n}():\n    assert {n} + 1 == {n + 1}\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n0"]
        cpu_of(base, project)  # warm the file system cache and the bytecode
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(cpu_of(base, project))
            without.append(cpu_of([*base, "-p", "no:wyn"], project))
    on, off = statistics.median(with_plugin) * 1000, statistics.median(without) * 1000
    # The median of each pair's difference: a pair runs back to back, so the machine's drift over the
    # benchmark (a neighbour on the host, the CPU's clock) cancels out; the two medians alone swung by 30 ms.
    extra = statistics.median(a - b for a, b in zip(with_plugin, without, strict=True)) * 1000
    print(f"runs: {args.runs} each; median CPU per pytest run: {on:.0f} ms with pytest-wyn, {off:.0f} ms with -p no:wyn")
    print(f"pytest-wyn adds {extra:.0f} ms   goal <= {GOAL_MS:.0f} ms: {'met' if extra <= GOAL_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
