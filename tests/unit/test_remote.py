"""The remote tier's parts without a pytest session: keys, manifests, the breaker, the upload queue."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from servers import make_key

from pytest_wyn.engine.cache import EntryMeta, Store
from pytest_wyn.engine.remote.config import RemoteConfig
from pytest_wyn.engine.remote.errors import RemoteDown, RemoteError, TooBig, WriteRefused
from pytest_wyn.engine.remote.manifest import FORMAT, Manifest, Result, envelope, namespace, remote_name
from pytest_wyn.engine.remote.signing import Signer, TrustedKeys, parse_public_line, ssh_line
from pytest_wyn.engine.remote.tier import ERRORS_IN_A_ROW, RemoteCache

# The ed25519 module loads cryptography's compiled part: where that cannot load (Wine), skip too.
pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519", exc_type=ImportError)


class MemoryBackend:
    """A store in a dict that fails on demand: ``fail`` is raised by every call while set."""

    describe = "memory://"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail: Exception | None = None
        self.calls: list[str] = []
        self.put_gate = threading.Event()
        self.put_gate.set()

    def _check(self, what: str) -> None:
        self.calls.append(what)
        if self.fail is not None:
            raise self.fail

    def get(self, name: str, cap: int) -> bytes | None:
        self._check(f"get {name}")
        found = self.objects.get(name)
        if found is not None and len(found) > cap:
            raise TooBig(f"{len(found)} > {cap}")
        return found

    def has(self, name: str) -> bool:
        self._check(f"has {name}")
        return name in self.objects

    def put(self, name: str, data: bytes) -> None:
        self.put_gate.wait()
        self._check(f"put {name}")
        self.objects[name] = data

    def close(self) -> None:
        pass


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "id_ed25519"
    return path, make_key(path, "ci")


def store_with_entry(root: Path, key: str, binary: bytes | None) -> Store:
    store = Store(root)
    store.prepare()
    staged = store.new_staging_dir()
    if binary is not None:
        (staged / "binary").write_bytes(binary)
    store.publish(key, staged, EntryMeta("ok" if binary is not None else "failed", 1.5, 0 if binary else 1, "diag"))
    return store


def tier(tmp_path: Path, store: Store, keys: tuple[Path, str], backend: MemoryBackend, write: bool) -> RemoteCache:
    config = RemoteConfig("http://memory/", trusted_keys=(keys[1],), write=write, signing_key=keys[0])
    return RemoteCache(config, store, "remote:test", backend=backend)


def test_public_key_lines_round_trip_and_bad_lines_are_refused(keys: tuple[Path, str]) -> None:
    key = parse_public_line(keys[1])
    assert key.name == "ci"
    assert ssh_line(key.raw, "ci") == keys[1]
    with pytest.raises(ValueError, match="not an ssh-ed25519"):
        parse_public_line("ssh-rsa AAAAB3NzaC1yc2E= x")
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        parse_public_line("ssh-ed25519 " + keys[1].split()[1][:-8] + "AAAAAAA=")


def test_revoked_lines_win_over_trust(keys: tuple[Path, str]) -> None:
    signer = Signer.from_file(keys[0])
    message = b"m"
    signature = signer.sign(message)
    assert TrustedKeys.parse([keys[1]]).judge(signer.public, message, signature) == ""
    assert TrustedKeys.parse([keys[1]]).judge(signer.public, b"other", signature) == "wrongly signed"
    revoked = TrustedKeys.parse([keys[1], f"@revoked {keys[1]}"])
    assert revoked.judge(signer.public, message, signature) == "signed by a revoked key"
    assert (
        TrustedKeys.parse([]).judge(signer.public, message, signature) == "signed by a key the project does not trust"
    )


def test_a_signature_covers_every_field_and_nothing_else_verifies(keys: tuple[Path, str]) -> None:
    signer = Signer.from_file(keys[0])
    trust = TrustedKeys.parse([keys[1]])
    manifest = Manifest(FORMAT, namespace(), "k" * 64, "d" * 64, 10, Result("ok", 1.0, 0, ""))
    signature = signer.sign(manifest.signed_bytes())
    assert trust.judge(signer.public, manifest.signed_bytes(), signature) == ""
    for changed in (
        Manifest(FORMAT, "other-os", "k" * 64, "d" * 64, 10, Result("ok", 1.0, 0, "")),
        Manifest(FORMAT, namespace(), "j" * 64, "d" * 64, 10, Result("ok", 1.0, 0, "")),
        Manifest(FORMAT, namespace(), "k" * 64, "e" * 64, 10, Result("ok", 1.0, 0, "")),
        Manifest(FORMAT, namespace(), "k" * 64, "d" * 64, 11, Result("ok", 1.0, 0, "")),
        Manifest(FORMAT, namespace(), "k" * 64, "d" * 64, 10, Result("failed", 1.0, 0, "")),
        Manifest("v0", namespace(), "k" * 64, "d" * 64, 10, Result("ok", 1.0, 0, "")),
    ):
        assert trust.judge(signer.public, changed.signed_bytes(), signature) == "wrongly signed"
    assert Manifest.from_signed_bytes(manifest.signed_bytes()) == manifest


def test_a_key_file_that_is_not_ed25519_is_refused_with_the_fix(tmp_path: Path) -> None:
    from pytest_wyn.engine.remote.signing import SigningUnavailable

    bad = tmp_path / "key"
    bad.write_text("not a key")
    bad.chmod(0o600)
    with pytest.raises(SigningUnavailable, match="ssh-keygen -t ed25519"):
        Signer.from_file(bad)


def test_upload_then_fetch_round_trip_into_another_store(tmp_path: Path, keys: tuple[Path, str]) -> None:
    key = "a" * 64
    backend = MemoryBackend()
    writer = tier(tmp_path, store_with_entry(tmp_path / "w", key, b"\x7fELF binary"), keys, backend, write=True)
    writer.offer(key)
    writer.close()
    assert writer.stats.uploaded == 1
    digest = hashlib.sha256(b"\x7fELF binary").hexdigest()
    assert set(backend.objects) == {f"cas/{digest}", f"ac/{remote_name(namespace(), key)}"}
    assert backend.calls.index(f"put cas/{digest}") < backend.calls.index(f"put ac/{remote_name(namespace(), key)}")

    empty = Store(tmp_path / "r")
    empty.prepare()
    reader = tier(tmp_path, empty, keys, backend, write=False)
    assert reader.fetch_many([key, "b" * 64]) == {key}  # the manifest is there and verified
    reader.settle()  # the binary arrives in the background
    entry = empty.lookup(key)
    assert entry is not None and entry.binary is not None
    assert entry.binary.read_bytes() == b"\x7fELF binary"
    assert entry.meta.origin == "remote:test" and entry.meta.compile_seconds == 1.5
    assert reader.stats.fetched == 1 and reader.stats.looked_up == 2


def test_a_failed_compile_is_shared_without_content(tmp_path: Path, keys: tuple[Path, str]) -> None:
    key = "c" * 64
    backend = MemoryBackend()
    writer = tier(tmp_path, store_with_entry(tmp_path / "w", key, None), keys, backend, write=True)
    writer.offer(key)
    writer.close()
    assert list(backend.objects) == [f"ac/{remote_name(namespace(), key)}"]
    empty = Store(tmp_path / "r")
    empty.prepare()
    assert tier(tmp_path, empty, keys, backend, write=False).fetch(key)
    entry = empty.lookup(key)
    assert entry is not None and entry.meta.status == "failed" and entry.meta.diagnostics == "diag"


def test_an_entry_already_there_is_not_uploaded_again(tmp_path: Path, keys: tuple[Path, str]) -> None:
    key = "a" * 64
    backend = MemoryBackend()
    store = store_with_entry(tmp_path / "w", key, b"bin")
    for _ in range(2):
        writer = tier(tmp_path, store, keys, backend, write=True)
        writer.offer(key)
        writer.close()
    assert sum(call.startswith("put ac/") for call in backend.calls) == 1


def test_a_connection_failure_turns_the_remote_off_at_once(tmp_path: Path, keys: tuple[Path, str]) -> None:
    backend = MemoryBackend()
    backend.fail = RemoteDown("cannot connect to memory://: connection refused")
    store = Store(tmp_path / "r")
    store.prepare()
    reader = tier(tmp_path, store, keys, backend, write=False)
    assert not reader.fetch("a" * 64)
    assert not reader.on
    assert not reader.fetch("b" * 64)
    assert len(backend.calls) == 1
    assert reader.stats.notices == [
        "the remote cache is off: cannot connect to memory://: connection refused; "
        "this session goes on with the local cache only"
    ]


def test_errors_turn_it_off_only_when_they_come_in_a_row(tmp_path: Path, keys: tuple[Path, str]) -> None:
    backend = MemoryBackend()
    store = Store(tmp_path / "r")
    store.prepare()
    reader = tier(tmp_path, store, keys, backend, write=False)
    for n in range(10):
        backend.fail = RemoteError("HTTP 500") if n % ERRORS_IN_A_ROW else None  # two errors, then a success
        reader.fetch(f"{n:064d}")
    assert reader.on
    backend.fail = RemoteError("HTTP 500")
    for n in range(ERRORS_IN_A_ROW):
        reader.fetch(f"{n + 100:064d}")
    assert not reader.on
    assert "after 3 errors in a row (last: HTTP 500)" in reader.off


def test_a_refused_upload_stops_uploads_and_keeps_reads(tmp_path: Path, keys: tuple[Path, str]) -> None:
    backend = MemoryBackend()
    store = store_with_entry(tmp_path / "w", "a" * 64, b"bin")
    writer = tier(tmp_path, store, keys, backend, write=True)
    backend.fail = WriteRefused("PUT cas/x: HTTP 403")
    writer.offer("a" * 64)
    writer.close()
    assert not writer.writes and writer.on
    assert any("uploads stopped" in n for n in writer.stats.notices)


def test_the_flush_at_the_end_is_bounded(tmp_path: Path, keys: tuple[Path, str]) -> None:
    backend = MemoryBackend()
    backend.put_gate.clear()  # every PUT hangs
    store = store_with_entry(tmp_path / "w", "a" * 64, b"bin")
    writer = tier(tmp_path, store, keys, backend, write=True)
    writer.offer("a" * 64)
    writer.close(flush_seconds=0.2)
    assert any("cut off after 0.2 s" in n for n in writer.stats.notices)
    backend.put_gate.set()


def test_without_trusted_keys_a_reader_is_off(tmp_path: Path) -> None:
    store = Store(tmp_path / "r")
    store.prepare()
    reader = RemoteCache(RemoteConfig("http://memory/"), store, "remote:x", backend=MemoryBackend())
    assert not reader.on
    assert "no trusted keys" in reader.off


def test_the_namespace_names_the_system() -> None:
    import sys

    assert namespace().startswith(f"{sys.platform}-")
    assert remote_name("linux-x86_64-glibc2.36", "k") != remote_name("darwin-arm64-nolibc", "k")


def test_envelope_is_what_the_reader_opens(keys: tuple[Path, str]) -> None:
    from pytest_wyn.engine.remote.manifest import open_envelope

    signer = Signer.from_file(keys[0])
    manifest = Manifest(FORMAT, namespace(), "k", "", 0, Result("failed", 0.1, 1, "x"))
    opened = open_envelope(envelope(manifest, signer.public, signer.sign(manifest.signed_bytes())), 1 << 16)
    assert opened is not None and opened.message == manifest.signed_bytes()
    assert open_envelope(b'{"manifest": "e30=", "signer": "", "signature": ""}', 1 << 16) is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not json", "not JSON of ours"),
        (b"[" * 200_000, "over 64 KiB"),
        (b"[" * 60_000, "nested over 4 levels"),
        (b'{"a": ' * 20 + b"1" + b"}" * 20, "nested over 4 levels"),
        (b'["manifest"]', "not JSON of ours"),
        (b'{"manifest": "[[[[[[[[[[", "signer": "e30=", "signature": "e30="}', "not JSON of ours"),
    ],
)
def test_a_hostile_envelope_is_refused_before_any_parser_recurses(data: bytes, why: str) -> None:
    """Issue 28.4: 200 KB of `[` crashed every reader with RecursionError."""
    from pytest_wyn.engine.remote.manifest import open_envelope

    with pytest.raises(ValueError, match=why):
        open_envelope(data, 64 << 10)


def test_a_deeply_nested_ac_object_is_a_rejected_entry(tmp_path: Path) -> None:
    backend = MemoryBackend()
    store = Store(tmp_path / "cache")
    store.prepare()
    trusted = make_key(tmp_path / "k", "ci")
    remote = RemoteCache(RemoteConfig("memory://", trusted_keys=(trusted,)), store, "remote:x", backend=backend)
    backend.objects[f"ac/{remote_name(namespace(), 'k1')}"] = b"[" * 50_000
    backend.objects[f"ac/{remote_name(namespace(), 'k2')}"] = b"[" * 200_000
    assert remote.fetch_many(["k1", "k2"]) == set()
    assert remote.stats.rejected == {"not a manifest (nested over 4 levels)": 1, "not a manifest (over 64 KiB)": 1}
    assert remote.on


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://ci:pw@host:8080/team/", "http://***@host:8080/team/"),
        ("HTTPS://ci:pw@host/", "HTTPS://***@host/"),
        ("http://ci:pw@:8080/", "http://***@:8080/"),
        ("http://ci:p/w#x@host/", "http://***@host/"),
        ("http://ci:p@w@host/", "http://***@host/"),
        ("redis://host/0?password=pw&db=1", "redis://host/0?password=***"),
        ("redis://host/0?db=1&TOKEN=p#w&x=2", "redis://host/0?db=1&TOKEN=***"),
        ("http://host/wyn/", "http://host/wyn/"),
        ("ci:pw@host", "***@host"),
    ],
)
def test_one_redaction_for_every_url_shape(url: str, shown: str) -> None:
    from pytest_wyn.engine.remote.address import redact

    assert redact(url) == shown
    assert "pw" not in redact(url) and "p/w" not in redact(url)


def test_credentials_over_plain_http_to_another_host_are_warned_about(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.prepare()
    trusted = make_key(tmp_path / "k", "ci")
    said = []
    for url, token in [
        ("http://cache.example.invalid/wyn/", "t0ken"),
        ("http://ci:pw@cache.example.invalid/", ""),
        ("https://cache.example.invalid/", "t0ken"),
        ("http://127.0.0.1:8080/", "t0ken"),
        ("http://cache.example.invalid/", ""),
    ]:
        config = RemoteConfig(url, token=token, trusted_keys=(trusted,))
        notices = RemoteCache(config, store, "remote:x", backend=MemoryBackend()).stats.notices
        said.append(any("over plain http://" in n for n in notices))
        assert not any("t0ken" in n or "pw" in n for n in notices)
    assert said == [True, True, False, False, False]
