"""pytest-wyn: run Wyn test files as pytest tests."""

__version__ = "0.1.0"
