"""A Linux Python made to look like CPython on macOS, for the process tests (issue 18).

Put this folder on PYTHONPATH: what CPython lacks on macOS goes (os.waitid
before 3.13, pidfd, sched_getaffinity, pipe2, epoll, prlimit), and
setrlimit(RLIMIT_AS) is refused as macOS refuses it. Tests that need what
macOS does not have skip themselves when PYTEST_WYN_HARNESS says so.
"""

import os
import resource
import select

os.environ["PYTEST_WYN_HARNESS"] = "macos-like"
for name in ("waitid", "pidfd_open", "sched_getaffinity", "pipe2"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("epoll",):
    if hasattr(select, name):
        delattr(select, name)
if hasattr(resource, "prlimit"):
    del resource.prlimit
_setrlimit = resource.setrlimit


def setrlimit(which, limits):
    if which == resource.RLIMIT_AS:
        raise ValueError("current limit exceeds maximum limit")
    return _setrlimit(which, limits)


resource.setrlimit = setrlimit
