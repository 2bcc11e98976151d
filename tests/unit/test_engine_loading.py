"""Issue 30.2/30.4: the session's state loads in the engine, without pytest (engine/session.load)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LAUNCHER_NAME, STANDIN, launcher_text

from pytest_wyn.engine import NoCompilerFound, Record, Settings, UsageError, WorkerPayload, load, payload


def standin_compiler(folder: Path) -> Path:
    """The stand-in toolchain, launched as the suite's sessions launch it."""
    launcher = folder / LAUNCHER_NAME
    launcher.write_text(launcher_text(STANDIN))
    launcher.chmod(0o755)
    return launcher


@pytest.fixture
def no_wyn_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("WYN", raising=False)


def test_no_compiler_found_fails_only_the_tests_that_run(tmp_path: Path, no_wyn_on_path: None) -> None:
    engine, report = load(Settings.defaults(tmp_path / "cache"), tmp_path)
    assert engine.builder is None and engine.missing_compiler.startswith("no Wyn compiler found")
    with pytest.raises(NoCompilerFound):
        engine.require_builder()
    assert report.cache_problem == ""


def test_a_named_compiler_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    settings = Settings.defaults(tmp_path / "cache", compiler_option=str(tmp_path / "missing" / "wyn"))
    with pytest.raises(UsageError, match=r"^pytest-wyn: "):
        load(settings, tmp_path)


def test_collecting_only_loads_no_compiler(tmp_path: Path, no_wyn_on_path: None) -> None:
    engine, _ = load(Settings.defaults(tmp_path / "cache"), tmp_path, collect_only=True)
    assert engine.toolchain is None and engine.missing_compiler == ""


def test_a_process_that_runs_tests_gets_its_builder_and_the_record(tmp_path: Path) -> None:
    settings = Settings.defaults(tmp_path / "cache", compiler_option=str(standin_compiler(tmp_path)))
    record = Record({})
    engine, report = load(settings, tmp_path, load_record=lambda: record)
    try:
        assert engine.builder is not None and engine.store is not None and engine.cache_on
        assert report.record is record
        distributing, _ = load(settings, tmp_path, runs_tests=False)
        assert distributing.builder is None and distributing.toolchain == engine.toolchain
    finally:
        if engine.builder is not None:
            engine.builder.close()


def test_a_worker_on_this_machine_takes_what_its_controller_resolved(tmp_path: Path) -> None:
    settings = Settings.defaults(tmp_path / "cache", compiler_option=str(standin_compiler(tmp_path)))
    controller, report = load(settings, tmp_path, runs_tests=False)
    sent = WorkerPayload.from_serialized(payload(controller, report).serialized())
    worker, _ = load(settings, tmp_path, sent)
    try:
        assert worker.toolchain == controller.toolchain
        assert worker.store is not None and controller.store is not None
        assert worker.store.root == controller.store.root
        assert worker.builder is not None
    finally:
        if worker.builder is not None:
            worker.builder.close()
