"""The engine: everything that turns a `.wyn` file into verdicts, without pytest.

Reading the file, the toolchain and its output formats, dependencies and the
cache key, the store, compiling and building, processes and their limits,
judging, the `--wyn-update` rewrite, one file's run, run-ahead and the cost
record. It imports neither pytest nor anything above it (tests/test_layers.py).
"""
