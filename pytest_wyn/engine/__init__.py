"""The engine: what turns a `.wyn` file into verdicts, without pytest.

Round 3 starts it with the process back-ends (``engine.process``); the other
engine modules move here as issue 20 splits the package.
"""
