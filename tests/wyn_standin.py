#!/usr/bin/env python3
"""The stand-in Wyn toolchain's command line (the package is tests/standin/; see its docstring)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from standin.driver import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
