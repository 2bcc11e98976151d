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
    sys.exit(main(sys.argv[1:]))
