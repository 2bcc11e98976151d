"""Smoke tests: the benchmark and mutation scripts run in CI at a toy size, so they cannot rot.

They check that each script runs and reports every goal, not that a goal is met
(timings at a toy size on a busy machine mean nothing); the mutation run's
"differences: 0" is a real check.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import TESTS

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the benchmarks measure processes with POSIX tools (resource, /bin/sh launchers)"
)

BENCH = TESTS / "bench"


def run(script: str, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=timeout)


def test_mutation_run_with_a_remote_cache_finds_no_stale_verdict() -> None:
    """The writer (the ordinary cached run, uploading) and a reader with an empty local cache, against -n0."""
    # Signing keys need cryptography (the dev extra): an sdist's tests without it skip, saying so (issue 31.8).
    pytest.importorskip(
        "cryptography.hazmat.primitives.asymmetric.ed25519", reason="the remote cache needs cryptography", exc_type=ImportError
    )
    done = run("mutation_run.py", "--mutations", "3", "--seed", "7", "--remote")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mutations: 3," in done.stdout and "differences: 0" in done.stdout
    assert re.search(r"remote: [1-9]\d* objects stored, [1-9]\d* binaries fetched by readers", done.stdout)


def test_smoke_suite_benchmark_runs_and_reports_every_goal() -> None:
    done = run("suite_bench.py", "--sizes", "8", "--delay", "0.05", "--quick")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "suite: 8 files, 18 pytest items" in done.stdout
    assert "[ok] [8] same passes for every pytest run" in done.stdout  # every row ran the whole suite
    assert re.search(r"\| pytest --wyn warm +\| +\d+\.\d+ \| +\d+ \| +18 \| +0 \|", done.stdout)
    for goal in ("warm >= 60x faster than cold", "cold within 5 % of compile CPU / cores", "plugin overhead"):
        assert goal in done.stdout


def test_smoke_collection_benchmark_runs() -> None:
    done = run("collect_bench.py", "--files", "20", "--blocks", "3", "--rounds", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "20 files x 3 tests" in done.stdout
    ratio = re.search(r"ratio wyn/python: (\d+\.\d+)", done.stdout)
    assert ratio is not None and float(ratio.group(1)) > 0, done.stdout


def test_the_overhead_benchmark_reports_its_goal() -> None:
    done = run("overhead_bench.py", "--runs", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"pytest-wyn adds -?\d+ ms   goal <= 20 ms: (met|NOT met)", done.stdout)
