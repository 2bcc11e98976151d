"""Every error pytest-wyn raises, rooted in ``WynError`` and grouped by what happens next.

- ``UsageError``: the user's settings or machine cannot work as given; the
  pytest side turns it into ``pytest.UsageError`` (the session does not start),
  naming the setting and what it accepts.
- ``HostError``: this machine failed under us (a damaged or unsafe cache entry,
  the shared cache): retried, rebuilt or turned off, with a warning; never a
  test's verdict.
- ``TestError``: about one test file: it becomes that file's verdict (a parse
  error, no compiler for the tests that run, an update that is refused).

``Cancelled`` (process/common.py) is not an error: it stops work another
thread no longer wants.
"""

from __future__ import annotations


class WynError(Exception):
    """Anything pytest-wyn raises on purpose."""


class UsageError(WynError):
    """A setting, the compiler or the cache folder cannot be used as given: the session stops, saying why."""


class HostError(WynError):
    """This machine failed under us: retry, rebuild or turn the part off, and warn; never a verdict."""


class TestError(WynError):
    """About one test file: it becomes that file's verdict."""

    __test__ = False  # not a pytest test class, whatever its name
