#!/usr/bin/env bash
# The Windows stage of .ci/run: pytest-wyn under a real Windows CPython on Wine (after setup.sh).
#   1. the Windows back-end's and the ACL reader's own tests, and the unit tests that are not POSIX-only;
#   2. the example project with the stand-in compiling through tcc: cold, warm (all from the cache), -n 2;
#   3. end-to-end sessions on Windows: a crash after the expected output, a hang killed with its grandchild,
#      CRLF output, a path with spaces, the cache's round trip (tests/e2e/test_windows.py).
# Usage: bash tests/harness/windows_wine/run.sh      (from the checkout; exits non-zero when anything failed)
set -uo pipefail
WYN_WINE_DIR=${WYN_WINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pytest-wyn-wine}
export WINEPREFIX="$WYN_WINE_DIR/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPATH='C:\tcc'            # cc.exe (tcc) on the Windows PATH
unset PYTHONUTF8 PYTHONIOENCODING  # the stand-in must write UTF-8 by itself, as Wyn does
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
C="$WINEPREFIX/drive_c"; SP="$C/py313/Lib/site-packages"
WORK="$WYN_WINE_DIR/run"; rm -rf "$WORK"; mkdir -p "$WORK"
winpath() { echo "Z:$1" | tr / '\\'; }
# wpy LOG ARGS...: the Windows python, its output in LOG, then printed
wpy() { local log=$1; shift; : > "$log"; WPY_LOG="$(winpath "$log")" wine cmd /c 'C:\wpy.cmd' "$@"; local rc=$?; cat "$log"; return $rc; }
status=0
step() { echo; echo "== windows: $1"; }
# check DIR LOG ARGS...: the Windows python in DIR; a failure fails the stage (no subshell: status must stick)
check() {
    local dir=$1 s=$SECONDS rc; shift
    pushd "$dir" >/dev/null || return 1
    wpy "$@"; rc=$?
    popd >/dev/null || true
    echo "-- rc=$rc, $((SECONDS - s)) s"; [ $rc = 0 ] || status=1; return 0
}
# pytest-wyn installed "editable": its entry point's metadata and a .pth naming the checkout
D="$SP/pytest_wyn-0.0.0.dist-info"; rm -rf "$SP"/pytest_wyn-*.dist-info; mkdir -p "$D"
printf 'Metadata-Version: 2.1\nName: pytest-wyn\nVersion: 0.0.0\n' > "$D/METADATA"
printf '[pytest11]\nwyn = pytest_wyn.plugin\n' > "$D/entry_points.txt"; : > "$D/RECORD"
printf '%s\r\n' "$(winpath "$SRC")" > "$SP/pytest_wyn_src.pth"
export PYTEST_ADDOPTS="-p no:cacheprovider"

step "the interpreter"
check "$SRC" "$WORK/1.log" -c "import sys, platform; print(sys.version, sys.platform, platform.win32_ver()[:2])"

step "the back-end and ACL tests, and the unit tests that are not POSIX-only"
check "$SRC" "$WORK/2.log" -m pytest -q -rfEs -p no:randomly tests/unit

step "the example project: cold, warm, -n 2 (README: 6 passed, 1 skipped, 1 xfailed)"
P="$WORK/example project"; cp -r "$SRC/example_project" "$P"; rm -f "$P/wyn"
printf '@"C:\\py313\\python.exe" -S "%s" %%*\r\n' "$(winpath "$SRC/tests/wyn_standin.py")" > "$P/wyn.cmd"
export PYTEST_WYN_CACHE_DIR; PYTEST_WYN_CACHE_DIR="$(winpath "$WORK/cache")"
expect() { if grep -q -- "$1" "$2"; then echo "   found: $1"; else echo "   MISSING: $1"; status=1; fi; }
check "$P" "$WORK/3a.log" -m pytest
expect "6 passed, 1 skipped, 1 xfailed" "$WORK/3a.log"; expect "compiled 5 file(s)" "$WORK/3a.log"
check "$P" "$WORK/3b.log" -m pytest
expect "6 passed, 1 skipped, 1 xfailed" "$WORK/3b.log"; expect "compiled 0 file(s)" "$WORK/3b.log"
check "$P" "$WORK/3c.log" -m pytest -n 2 --wyn-cache-clear
expect "6 passed, 1 skipped, 1 xfailed" "$WORK/3c.log"; expect "2 workers" "$WORK/3c.log"
unset PYTEST_WYN_CACHE_DIR

step "end-to-end sessions on Windows (tests/e2e/test_windows.py)"
check "$SRC" "$WORK/4.log" -m pytest -v -rfEs -p no:randomly tests/e2e/test_windows.py

wineserver -k 2>/dev/null || true   # this prefix's wineserver only
echo; [ $status = 0 ] && echo "== windows: all passed" || echo "== windows: FAILED (see above)"
exit $status
