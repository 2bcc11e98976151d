"""pytest-wyn: run Wyn test files as pytest tests."""

import pytest

__version__ = "0.1.0"


class WynWarning(pytest.PytestWarning):
    """Everything pytest-wyn warns about (make it fail a run: ``-W error::pytest_wyn.WynWarning``)."""


__all__ = ["WynWarning"]
