"""Run-ahead with fake files and events, no binaries and no clocks: order, barriers, waiting, cancelling."""

from __future__ import annotations

import threading

from pytest_wyn.engine.results import FileOutcome
from pytest_wyn.engine.runahead import RunAhead


class FakeFile:
    """A file whose run finishes when its ``release`` event is set; records the thread it ran in."""

    def __init__(self, name: str) -> None:
        self.nodeid = name
        self.release = threading.Event()
        self.started = threading.Event()
        self.threads: list[str] = []

    def execute(self, cancel: threading.Event | None = None, run_gate: object = None) -> FileOutcome:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.release.wait(10)
        return FileOutcome(None, None, (), 1.0)


def never_stopping() -> bool:
    return False


def test_files_start_ahead_and_their_tests_take_the_result() -> None:
    files = [FakeFile(f"test_{n}.wyn") for n in range(3)]
    for f in files:
        f.release.set()
    ahead = RunAhead(files, {}, never_stopping)
    try:
        assert ahead.take(files[0]).ahead  # the first test's turn starts the others too
        for f in files[1:]:
            assert f.started.wait(5)
            assert ahead.take(f).ahead
            assert f.threads == [f.threads[0]] and f.threads[0].startswith("wyn-run-ahead")  # ran once, ahead
    finally:
        ahead.close()


def test_a_file_behind_a_python_test_waits_for_it() -> None:
    first, held = FakeFile("test_a.wyn"), FakeFile("test_b.wyn")
    first.release.set()
    held.release.set()
    ahead = RunAhead([first, held], {}, never_stopping, [(held, 0)])  # test 0 (Python) comes before test_b
    try:
        assert ahead.take(first).ahead
        assert not held.started.is_set()  # the Python test has not finished
        ahead.passed(0)  # its teardown is done
        assert held.started.wait(5)
        assert ahead.take(held).ahead
    finally:
        ahead.close()


def test_a_test_waiting_for_its_file_ticks_then_says_it_is_done() -> None:
    file = FakeFile("test_slow.wyn")
    ticks: list[bool] = []
    ticked = threading.Event()

    def waiting(done: bool) -> None:
        ticks.append(done)
        if not done:
            ticked.set()
            file.release.set()  # the file finishes after the first tick

    ahead = RunAhead([file], {}, never_stopping, waiting=waiting)
    try:
        assert ahead.take(file).ahead
        assert ticked.is_set()
        assert ticks[-1] is True and False in ticks  # a tick while waiting, then the end of the wait
    finally:
        ahead.close()


def test_a_file_already_done_gives_no_status_at_all() -> None:
    file = FakeFile("test_quick.wyn")
    file.release.set()
    ticks: list[bool] = []
    ahead = RunAhead([file], {}, never_stopping, waiting=ticks.append)
    try:
        assert ahead.take(file).ahead
        assert ticks == []
    finally:
        ahead.close()
