"""Check the README's profile for a Wyn checkout against Wyn's own `make test` steps (issue 29).

    python tests/bench/profile_check.py /path/to/a/built/wyn/checkout

Runs, in the checkout, Wyn's own tests/run_bdd.sh, tests/golden/run_golden_tests.sh and
tests/stdlib/run_stdlib_tests.sh, then pytest with the README's profile (written to a scratch
folder, passed with -c: nothing is written into the checkout but what those scripts write), and
compares the verdict of every file: pass (Wyn's ✓ / ok, pytest's PASSED or XPASS, or a known
failure it tolerates) against fail. Prints the files whose verdicts differ; exits 1 if any do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROFILE = """\
[pytest]
wyn = true
testpaths = tests/expect tests/regression tests/stdlib tests/golden
wyn_files = *.wyn
wyn_known_failures = tests/stdlib/known_failures.txt
addopts = --ignore=tests/regression/state.wyn --ignore=tests/regression/w9_shapes.wyn
"""


def wyn_scripts(tree: Path) -> tuple[dict[str, bool], float]:
    """Each file's verdict from Wyn's own scripts, keyed tests/<dir>/<file>.wyn."""
    env = dict(os.environ, WYN="./wyn")
    verdicts: dict[str, bool] = {}
    started = time.monotonic()
    bdd = subprocess.run(["bash", "tests/run_bdd.sh"], cwd=tree, env=env, capture_output=True, text=True).stdout
    section = ""
    for line in bdd.splitlines():
        if line.startswith("=== Expect"):
            section = "expect"
        elif line.startswith("=== Regression"):
            section = "regression"
        m = re.match(r"\s+([✓✗]) (\S+\.wyn)", line)
        if m and section:
            verdicts[f"tests/{section}/{m.group(2)}"] = m.group(1) == "✓"
    golden = subprocess.run(["bash", "tests/golden/run_golden_tests.sh"], cwd=tree, env=env, capture_output=True, text=True)
    for line in golden.stdout.splitlines():
        m = re.match(r"\s+(ok|FAIL)\s+(\S+)", line)
        if m:
            verdicts[f"tests/golden/{m.group(2)}.wyn"] = m.group(1) == "ok"
    stdlib = subprocess.run(["bash", "tests/stdlib/run_stdlib_tests.sh"], cwd=tree, env=env, capture_output=True, text=True)
    for line in stdlib.stdout.splitlines():
        m = re.match(r"\s+([✓✗⏱]) (\S+\.wyn)(.*)", line)
        if m:
            tolerated = "(known" in m.group(3)
            verdicts[f"tests/stdlib/{m.group(2)}"] = m.group(1) == "✓" or tolerated
    return verdicts, time.monotonic() - started


def pytest_profile(tree: Path, scratch: Path) -> tuple[dict[str, bool], float]:
    ini = scratch / "pytest.ini"
    ini.write_text(PROFILE)
    env = dict(os.environ, PYTEST_WYN_CACHE_DIR=str(scratch / "cache"))
    argv = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(tree), "-p", "no:cacheprovider", "-rA"]
    started = time.monotonic()
    out = subprocess.run([*argv, "--wyn-compiler=./wyn"], cwd=tree, env=env, capture_output=True, text=True).stdout
    seconds = time.monotonic() - started
    files: dict[str, bool] = {}
    for line in out.splitlines():
        m = re.match(r"(PASSED|FAILED|ERROR|XFAIL|XPASS) (tests/\S+?\.wyn)(?:::| |$)", line)
        if m:
            ok = m.group(1) in ("PASSED", "XPASS", "XFAIL")
            files[m.group(2)] = files.get(m.group(2), True) and ok  # a file passes when all its tests do
    return files, seconds


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tree = Path(sys.argv[1]).resolve()
    if not (tree / "wyn").is_file():
        sys.exit(f"{tree}/wyn is missing: build the checkout first (make)")
    with tempfile.TemporaryDirectory(prefix="wyn-profile-") as scratch:
        theirs, their_seconds = wyn_scripts(tree)
        ours, our_seconds = pytest_profile(tree, Path(scratch))
    common = sorted(set(theirs) & set(ours))
    differ = [f for f in common if theirs[f] != ours[f]]
    print(f"Wyn's scripts: {len(theirs)} files in {their_seconds:.0f} s; pytest-wyn: {len(ours)} files in {our_seconds:.0f} s")
    print(f"compared: {len(common)}, same verdict: {len(common) - len(differ)}, different: {len(differ)}")
    for name in differ:
        print(f"  {name}: Wyn's scripts {'pass' if theirs[name] else 'fail'}, pytest-wyn {'pass' if ours[name] else 'fail'}")
    only_ours = sorted(set(ours) - set(theirs))
    if only_ours:
        print(f"run by pytest-wyn only ({len(only_ours)}): {', '.join(only_ours)}")
    only_theirs = sorted(set(theirs) - set(ours))
    if only_theirs:
        print(f"run by Wyn's scripts only ({len(only_theirs)}): {', '.join(only_theirs)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
