#!/usr/bin/env python3
"""The stand-in Wyn toolchain's command line (the package is tests/standin/; see its docstring)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
# The suite runs this a thousand times or more: its bytecode is kept (in standin/__pycache__/, which git
# ignores) even where the environment says not to write any (PYTHONDONTWRITEBYTECODE).
sys.dont_write_bytecode = False

from standin.driver import main  # noqa: E402  (after the two lines above)

if __name__ == "__main__":
    # As the real Wyn: UTF-8 bytes (its ✓ and ✗) whatever the platform's code page (cp1252 on Windows
    # cannot encode them), and LF line ends as written.
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", newline="\n")  # type: ignore[attr-defined]
    sys.exit(main(sys.argv[1:]))
