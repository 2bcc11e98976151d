"""Issue 30.9: the engine's parts tested alone, with fakes instead of sessions, compilers and workers.

The compile classifier by a table of process results; the ``Builder`` over a
fake ``Compiler`` and a real store; the scheduling record over a dict; the
xdist scheduler driven with mock nodes, as xdist's own testing/test_dsession.py
drives its schedulers.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_wyn.engine.build import Builder
from pytest_wyn.engine.cache import Store
from pytest_wyn.engine.compiling import Attempt, _classify
from pytest_wyn.engine.process import Completed
from pytest_wyn.engine.record import (
    RECORD_KEY,
    WORKERS_KEY,
    FileCosts,
    Record,
    read_worker_startup,
    save_worker_startup,
)
from pytest_wyn.engine.results import BuildResult
from pytest_wyn.engine.settings import Settings
from pytest_wyn.engine.toolchain import CompileCommand, Toolchain
from pytest_wyn.workers.schedule import WynScheduling

# ---------------------------------------------------------------- the compile classifier


def _done(returncode: int | None = 0, output: bytes = b"", **changes: Any) -> Completed:
    return Completed(returncode, changes.pop("signal", None), changes.pop("timed_out", False), output, 0, 0.1, **changes)


DIAGNOSTIC = b"\x1b[31mError at line 2:\x1b[0m Undefined variable 'x'\n"
CASES = [
    # what the compiler did, whether it left a binary, the kind, words the problem must hold
    ("a binary", _done(0), True, "ok", ""),
    ("a diagnostic on the source", _done(1, DIAGNOSTIC), False, "diagnostic", ""),
    ("exit 0, no file", _done(0), False, "failed", "wrote no binary"),
    ("not started", _done(None, launch_error="No such file or directory"), False, "failed", "could not be started"),
    ("not started: no processes left", _done(None, launch_error="Resource temporarily unavailable"), False, "host", ""),
    ("timed out", _done(None, timed_out=True), False, "failed", "did not finish within 9 s"),
    ("killed by a signal", _done(None, signal=signal.SIGTERM), False, "host", "killed by SIGTERM"),
    ("out of memory", _done(1, b"cc1: out of memory allocating 4096 bytes\n"), False, "host", "host resources ran out"),
    ("exit 1, nothing said", _done(1, b""), False, "host", "without any diagnostic"),
]


@pytest.mark.parametrize(("what", "done", "binary", "kind", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_compile_result_is_classified_by_what_happens_next(
    tmp_path: Path, what: str, done: Completed, binary: bool, kind: str, words: str
) -> None:
    output = tmp_path / "out"
    if binary:
        output.write_bytes(b"\x7fELF")
        output.chmod(0o755)
    attempt = _classify(done, output, timeout=9)
    assert attempt.kind == kind
    assert words in attempt.problem
    assert attempt.transient is (kind == "host")  # only the host's failures are retried
    assert attempt.cacheable is (kind in ("ok", "diagnostic"))  # only the compiler's verdicts are stored


# ---------------------------------------------------------------- the builder over a fake compiler


class FakeCompiler:
    """Stands in for ``compiling.Compiler``: writes a binary (or a diagnostic) per ``kinds``, counts calls."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.calls: list[str] = []
        self.compiled = self.not_started = self.retries = 0
        self.compile_seconds = 0.0

    def argv(self, arg: str, output: Path) -> list[str]:
        return ["wyn", "build", arg, "-o", str(output)]

    def compile(self, source: Path, arg: str, output: Path, cancel: Any = None, env: Any = None) -> tuple[BuildResult, Attempt]:
        kind = self.kinds[len(self.calls)] if len(self.calls) < len(self.kinds) else "ok"
        self.calls.append(arg)
        self.compiled += 1
        if kind == "ok":
            output.write_bytes(b"#!/bin/sh\necho " + source.read_bytes().strip() + b"\n")
            output.chmod(0o755)
        text = "Error at line 1: nope" if kind == "diagnostic" else ""
        attempt = Attempt(_done(0 if kind == "ok" else 1, text.encode()), output, kind, "a host failure" if kind == "host" else "")  # type: ignore[arg-type]
        result = BuildResult(kind == "ok", output if kind == "ok" else None, text, 0.25, problem=attempt.problem)
        return result, attempt


def _builder(tmp_path: Path, fake: FakeCompiler) -> Builder:
    store = Store(tmp_path / "cache")
    store.prepare()
    settings = Settings.defaults(store.root, c_cache=False)
    toolchain = Toolchain(str(tmp_path / "wyn"), "test", "Wyn v0 (fake)", "f" * 64)
    builder = Builder(toolchain, CompileCommand.parse("", [], None), tmp_path, store, settings)
    builder.compiler = fake  # type: ignore[assignment]
    return builder


def test_the_builder_compiles_a_file_once_and_serves_it_after(tmp_path: Path) -> None:
    fake = FakeCompiler(["ok"])
    builder = _builder(tmp_path, fake)
    source = tmp_path / "test_a.wyn"
    source.write_text("a\n")
    first, second = builder.build(source), builder.build(source)
    assert first.ok and not first.cached and second.ok and second.cached
    assert fake.calls == ["test_a.wyn"]  # the path from the rootdir, as the key has it
    assert builder.stats.hits == 0, "a file compiled here and run again is no hit"
    other = _builder(tmp_path, FakeCompiler([]))  # another process, the same store
    assert other.build(source).cached and other.stats.hits == 1
    source.write_text("b\n")
    assert not builder.build(source).cached and fake.calls == ["test_a.wyn"] * 2, "an edit is a miss"
    builder.close()
    other.close()


def test_the_builder_stores_the_compilers_verdict_but_never_a_host_failure(tmp_path: Path) -> None:
    fake = FakeCompiler(["diagnostic", "host", "host"])
    builder = _builder(tmp_path, fake)
    rejected, failed = tmp_path / "test_rejected.wyn", tmp_path / "test_failed.wyn"
    rejected.write_text("r\n")
    failed.write_text("f\n")
    assert not builder.build(rejected).ok
    again = builder.build(rejected)
    assert not again.ok and again.cached and "nope" in again.diagnostics  # the verdict, from the cache
    assert builder.build(failed).problem == "a host failure"
    assert builder.build(failed).problem == "a host failure"
    assert fake.calls == ["test_rejected.wyn", "test_failed.wyn", "test_failed.wyn"]
    builder.close()


def test_a_damaged_entry_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    fake = FakeCompiler(["ok", "ok"])
    builder = _builder(tmp_path, fake)
    source = tmp_path / "test_a.wyn"
    source.write_text("a\n")
    builder.build(source)
    stored = next((tmp_path / "cache" / "entries").rglob("binary"))
    stored.write_bytes(b"#!/bin/sh\necho planted\n")
    fresh = _builder(tmp_path, fake)
    result = fresh.build(source)
    assert result.ok and not result.cached and len(fake.calls) == 2
    assert any("damaged" in w for w in result.warnings)
    builder.close()
    fresh.close()


# ---------------------------------------------------------------- the record over a dict


class DictStore(dict[str, Any]):
    """A ``record.KeyValue``: what pytest's cache is to the record."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def test_the_record_keeps_notes_merges_workers_and_survives_damage(tmp_path: Path) -> None:
    store = DictStore({RECORD_KEY: {"a.wyn": [1.5, 10, 3], "b.wyn": "garbage", "c.wyn": {"compile_seconds": "x"}}})
    record = Record.load(store)
    assert list(record.files) == ["a.wyn"]  # the first layout still read; damaged rows dropped
    assert record.files["a.wyn"].compile_seconds == 1.5
    record.note("b.wyn", FileCosts(0.5, 1, 2, run_seconds=0.2, run_cpu=0.2))
    worker = Record({})
    worker.note("c.wyn", FileCosts(2.0, 3, 4))
    record.merge_notes(worker.serialized_notes())
    record.save(store)
    again = Record.load(store)
    assert sorted(again.files) == ["a.wyn", "b.wyn", "c.wyn"]
    assert again.files["b.wyn"].cpu_bound and not again.files["c.wyn"].cpu_bound
    save_worker_startup(store, [0.5, 1.5])
    assert store[WORKERS_KEY] == {"startup_cpu": 1.0} and read_worker_startup(store) == 1.0
    assert read_worker_startup(DictStore({WORKERS_KEY: {"startup_cpu": -3}})) is None


# ---------------------------------------------------------------- the scheduler with mock nodes


class MockNode:
    """A worker as the scheduler sees it (xdist's testing/test_dsession.py has the same)."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name, spec=SimpleNamespace(ssh=None, socket=None, vagrant_ssh=None))
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def send_runtest_all(self) -> None:
        raise AssertionError("the scheduler sends units, never everything")

    def shutdown(self) -> None:
        self.shutting_down = True


COLLECTION = [
    "test_py.py::test_one",
    "test_blocks.wyn::one",
    "test_blocks.wyn::two",
    "test_blocks.wyn::three",
    "test_py.py::test_two",
    "test_slow.wyn::test_slow",
]


def _scheduled(priorities: dict[str, tuple[float, float]]) -> tuple[WynScheduling, list[MockNode]]:
    values = {"tx": ["popen"] * 2}
    config = SimpleNamespace(getvalue=values.get, hook=None, option=SimpleNamespace(loadscopereorder=True))
    sched = WynScheduling(config, None, priorities)  # type: ignore[arg-type]
    nodes = [MockNode("gw0"), MockNode("gw1")]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, COLLECTION)
    sched.schedule()
    return sched, nodes


def _run_to_the_end(sched: WynScheduling, nodes: list[MockNode]) -> None:
    """Each worker finishes what it was sent, and is sent more, until nothing is left."""
    done: set[tuple[str, int]] = set()
    while not sched.tests_finished:
        progressed = False
        for node in nodes:
            for index in list(node.sent):
                if (node.gateway.id, index) not in done:
                    done.add((node.gateway.id, index))
                    sched.mark_test_complete(node, index)
                    progressed = True
        assert progressed, "the scheduler stopped sending work"


def test_a_wyn_file_goes_to_one_worker_whole_and_likely_compiles_first() -> None:
    sched, nodes = _scheduled({"test_slow.wyn": (9.0, 1.0), "test_blocks.wyn": (1.0, 0.0)})
    first_units = [COLLECTION[node.sent[0]] for node in nodes]
    _run_to_the_end(sched, nodes)
    given = {node.gateway.id: [COLLECTION[i] for i in node.sent] for node in nodes}
    blocks = [nodeid for nodeid in COLLECTION if nodeid.startswith("test_blocks.wyn")]
    owners = [name for name, ids in given.items() if set(blocks) <= set(ids)]
    assert len(owners) == 1, given  # the three blocks: one compile, one run, one worker
    assert sorted(nodeid for ids in given.values() for nodeid in ids) == sorted(COLLECTION)  # everything once
    assert "test_slow.wyn::test_slow" in first_units, "the file that will compile for 9 s starts first"


def test_a_crash_reports_the_rest_of_its_file_once_and_never_sends_it_again() -> None:
    sched, nodes = _scheduled({})
    reports: list[Any] = []
    sched.config = SimpleNamespace(hook=SimpleNamespace(pytest_runtest_logreport=lambda report: reports.append(report)))
    owner = next(n for n in nodes if COLLECTION.index("test_blocks.wyn::one") in n.sent)
    sched.mark_test_complete(owner, COLLECTION.index("test_blocks.wyn::one"))
    crashed = sched.remove_node(owner)
    assert crashed == "test_blocks.wyn::two"
    assert sorted(r.nodeid for r in reports) == ["test_blocks.wyn::three"]
    assert "not run: worker 'gw" in reports[0].longrepr
    assert all(not nodeid.startswith("test_blocks.wyn") for nodeid in sched.workqueue)

