"""pytest-wyn: run Wyn test files as pytest tests."""

__version__ = "0.1.0"


class WynWarning(UserWarning):
    """Everything pytest-wyn warns about (make it fail a run: ``-W error::pytest_wyn.WynWarning``).

    A plain ``UserWarning``: the engine (``pytest_wyn.engine``) imports without pytest.
    """


__all__ = ["WynWarning"]
