"""Issue 32, without a session: which workers are elsewhere, what travels to them, what counts as compiled."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import execnet
import pytest

from pytest_wyn.engine.compiling import Compiler
from pytest_wyn.engine.remote.address import without_credentials
from pytest_wyn.engine.remote.config import RemoteConfig
from pytest_wyn.engine.session import Engine, SessionReport, WorkerPayload, payload, toolchain_mismatch
from pytest_wyn.engine.settings import Settings
from pytest_wyn.engine.toolchain import CompileCommand, Toolchain
from pytest_wyn.workers.hosts import host_label, is_elsewhere, only_elsewhere


@pytest.mark.parametrize(
    ("spec", "elsewhere", "label"),
    [
        ("popen", False, "this machine"),
        ("popen//python=python3.12//chdir=/tmp/x", False, "this machine"),
        ("ssh=build-2//chdir=/srv/checkout", True, "ssh=build-2"),
        ("ssh=-p 2222 me@build-3//python=/opt/py/bin/python", True, "ssh=-p 2222 me@build-3"),
        ("socket=10.0.0.5:8888", True, "socket=10.0.0.5:8888"),
    ],
)
def test_a_gateway_is_elsewhere_by_its_spec(spec: str, elsewhere: bool, label: str) -> None:
    parsed = execnet.XSpec(spec)
    assert is_elsewhere(parsed) is elsewhere
    assert host_label(parsed) == label


@pytest.mark.parametrize(
    ("tx", "expected"),
    [([], False), (["2*popen"], False), (["ssh=a", "2*ssh=b"], True), (["2*popen", "ssh=a"], False)],
)
def test_only_elsewhere_needs_every_named_gateway_on_another_machine(tx: list[str], expected: bool) -> None:
    config = SimpleNamespace(option=SimpleNamespace(tx=tx))
    assert only_elsewhere(config) is expected  # type: ignore[arg-type]


def test_settings_cross_the_gateway_and_come_back_equal(tmp_path: Path) -> None:
    remote = RemoteConfig("https://cache.example/wyn", "tok", 3.0, ("ssh-ed25519 AAAA k",), True, tmp_path / "key")
    settings = Settings.defaults(
        tmp_path, remote=remote, known_failures=(("test_a.wyn", "known.txt", "fails"),), c_cache_dir=tmp_path / "c"
    )
    assert Settings.from_wire(settings.to_wire()) == settings


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pa%2Fss@cache.example/wyn",
        "HTTPS://user:p@ss@cache.example/wyn",
        "https://cache.example/wyn?token=abc&x=1",
        "redis://:secret@cache.example:6379/0",
    ],
)
def test_no_credential_crosses_to_another_machine(url: str, tmp_path: Path) -> None:
    remote = RemoteConfig(url, token="tok-123", signing_key=tmp_path / "signing", write=True)
    engine = Engine(Settings.defaults(tmp_path, remote=remote), tmp_path)
    sent = str(payload(engine, SessionReport(), elsewhere=True, host="ssh=b").serialized())
    for secret in ("tok-123", "pa%2Fss", "p@ss", "abc", "secret", str(tmp_path / "signing")):
        assert secret not in sent
    assert without_credentials(url).endswith(("cache.example/wyn", "cache.example:6379/0", "cache.example/wyn?"))
    local = str(payload(engine, SessionReport()).serialized())
    assert "tok-123" in local, "a worker on this machine shares this machine's settings"


def test_the_second_hosts_own_credentials_are_used_for_the_cache_that_travelled() -> None:
    sent = RemoteConfig("https://cache.example/wyn", write=True).for_another_host()
    own = sent.with_host_secrets(
        {
            "PYTEST_WYN_REMOTE_CACHE": "https://ci:pw@cache.example/wyn",
            "PYTEST_WYN_REMOTE_CACHE_TOKEN": "t",
            "PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY": "/keys/host2",
        }
    )
    assert (own.url, own.token, own.signing_key, own.write) == ("https://ci:pw@cache.example/wyn", "t", Path("/keys/host2"), True)
    other = sent.with_host_secrets({"PYTEST_WYN_REMOTE_CACHE": "https://ci:pw@elsewhere.example/wyn"})
    assert other.url == "https://cache.example/wyn", "the controller's cache, not one this host names"


def test_the_toolchain_check_names_both_identities() -> None:
    theirs = Toolchain("/a/wyn", "./wyn", "Wyn v1.20.0", "a" * 64)
    sent = WorkerPayload({}, theirs, host="ssh=b")
    assert toolchain_mismatch(sent, Toolchain("/b/wyn", "$WYN", "Wyn v1.20.0", "a" * 64)) == ""
    said = toolchain_mismatch(sent, Toolchain("/b/wyn", "$WYN", "Wyn v1.19.0", "b" * 64))
    assert "ssh=b: /b/wyn (Wyn v1.19.0; identity bbbbbbbbbbbbbbbb)" in said
    assert "controller: /a/wyn (Wyn v1.20.0; identity aaaaaaaaaaaaaaaa)" in said


def test_a_compiler_that_never_started_compiled_nothing(tmp_path: Path) -> None:
    toolchain = Toolchain(str(tmp_path / "no-such-wyn"), "test", "v", "x")
    compiler = Compiler(toolchain, CompileCommand.parse("", [], None), tmp_path, Settings.defaults(tmp_path), None)
    source = tmp_path / "test_a.wyn"
    source.write_text('println("a")\n')
    result, _ = compiler.compile(source, "test_a.wyn", tmp_path / "out")
    assert not result.ok and "could not be started" in result.problem
    assert (compiler.compiled, compiler.not_started) == (0, 1)


def test_a_build_folder_that_cannot_be_made_fails_the_wyn_tests_not_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_wyn.engine import session

    def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session, "Builder", no_room)
    loading = session._Loading(Settings.defaults(tmp_path), tmp_path, Toolchain("/w", "t", "v", "x"))
    loading.command = CompileCommand.parse("", [], None)
    engine, _ = loading.done(runs_tests=True)
    assert engine.builder is None
    with pytest.raises(session.NoCompilerFound, match="cannot prepare this process's build folder: No space left"):
        engine.require_builder()
