"""The remote tier: fetch verified entries into the local store, upload signed ones, never hurt a run.

Every entry read is checked before the local store sees it: a manifest signed
by a trusted, unrevoked key, for this namespace and this key, and content with
the recorded digest and size. Anything else is a miss and is counted by reason.
The first connection failure or timeout, or three errors in a row, turn the
remote off for the session; a refused upload stops uploads only. Uploads run
on one bounded background thread, flushed (for a bounded time) at the end.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from ..cache import CorruptEntry, EntryMeta, Store, UnsafeEntry, open_own
from ..digest import sha256_bytes
from .address import plain_http_to_another_host
from .config import RemoteConfig
from .errors import RemoteDown, RemoteError, TooBig, WriteRefused
from .manifest import FORMAT, Manifest, Result, envelope, namespace, open_envelope, remote_name
from .signing import Signer, SigningUnavailable, TrustedKeys, available

FETCH_THREADS = 8
ERRORS_IN_A_ROW = 3
UPLOAD_QUEUE = 1000
MAX_MANIFEST = 64 << 10  # an envelope is about 1 KiB; a server may send no more than this for one
FETCH_AHEAD_TIMEOUTS = 3  # fetching ahead may take this many request timeouts in all, then the remote goes off

T = TypeVar("T")


class Backend(Protocol):
    describe: str

    def get(self, name: str, cap: int) -> bytes | None: ...  # TooBig past cap bytes
    def has(self, name: str) -> bool: ...
    def put(self, name: str, data: bytes) -> None: ...
    def close(self) -> None: ...


@dataclass
class RemoteStats:
    """One process's remote figures; the controller adds its workers' (``merge``)."""

    looked_up: int = 0  # files the local cache lacked, asked for
    fetched: int = 0
    fetch_seconds: float = 0.0
    rejected: dict[str, int] = field(default_factory=dict)
    uploaded: int = 0
    upload_failed: int = 0
    upload_problem: str = ""  # the last failed upload's reason
    notices: list[str] = field(default_factory=list)  # each said once per session (a WynWarning)
    off: str = ""  # why the remote went off, if it did

    def merge(self, other: dict[str, Any]) -> None:
        self.looked_up += int(other.get("looked_up", 0))
        self.fetched += int(other.get("fetched", 0))
        self.fetch_seconds = max(self.fetch_seconds, float(other.get("fetch_seconds", 0.0)))
        for reason, count in dict(other.get("rejected", {})).items():
            self.rejected[str(reason)] = self.rejected.get(str(reason), 0) + int(count)
        self.uploaded += int(other.get("uploaded", 0))
        self.upload_failed += int(other.get("upload_failed", 0))
        self.upload_problem = str(other.get("upload_problem", "")) or self.upload_problem
        self.off = self.off or str(other.get("off", ""))
        for notice in other.get("notices", []):
            if notice not in self.notices:
                self.notices.append(str(notice))

    def serialized(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verified:
    """A manifest whose signature checked out, and the key that made it (kept with the local entry)."""

    manifest: Manifest
    signer: bytes


def local_trust(config: RemoteConfig | None) -> TrustedKeys:
    """The keys whose fetched entries the local cache may still serve: none without a (readable) remote setting."""
    if config is None:
        return TrustedKeys((), frozenset())
    try:
        return TrustedKeys.parse(list(config.trusted_keys))
    except ValueError:
        return TrustedKeys((), frozenset())


def open_backend(config: RemoteConfig) -> Backend:
    if config.url.startswith(("redis://", "rediss://", "unix://")):
        from .redisstore import RedisBackend

        return RedisBackend(config.url, config.token, config.timeout)
    from .http import HttpBackend

    return HttpBackend(config.url, config.token, config.timeout)


class RemoteCache:
    """One process's view of the shared cache, feeding ``store`` (the local cache)."""

    def __init__(
        self,
        config: RemoteConfig,
        store: Store,
        mark: str,
        off: str = "",
        backend: Backend | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.mark = mark  # EntryMeta.origin of what this session fetched
        self.space = namespace()
        self.stats = RemoteStats()
        self.off = off  # why the remote is off for this session ("" while on)
        self.reads = True
        self.signer: Signer | None = None
        self.trust = TrustedKeys((), frozenset())
        self._lock = threading.Lock()
        self._errors = 0
        self._offered: set[str] = set()
        self._looked: set[str] = set()  # keys looked up once this session: a miss is not asked again
        self._arriving: dict[str, Future[bool]] = {}  # fetched ahead: content on its way
        self._manifests: dict[str, Verified] = {}  # their verified manifests
        self._pool: ThreadPoolExecutor | None = None
        self._started: float | None = None
        self._queue: queue.Queue[str | None] = queue.Queue(UPLOAD_QUEUE)
        self._beside: RemoteCache | None = None  # the tier this one shares its backend and breaker with
        self._uploader: threading.Thread | None = None
        self.backend: Backend | None = None
        if off:
            return
        missing = available()
        if missing:
            self._turn_off(f"the remote cache {config.shown()} is off: {missing}")
            return
        try:
            self.trust = TrustedKeys.parse(list(config.trusted_keys))
        except ValueError as exc:
            self._turn_off(f"the remote cache {config.shown()} is off: wyn_remote_cache_trusted_keys: {exc}")
            return
        if not self.trust.trusted:
            self.reads = False
            if not config.write:
                self._turn_off(
                    f"the remote cache {config.shown()} is off: no trusted keys "
                    "(wyn_remote_cache_trusted_keys), so nothing read from it could be trusted"
                )
                return
        if config.write:
            self._load_signer()
        try:
            self.backend = backend or open_backend(config)
        except (ValueError, RemoteError) as exc:
            self._turn_off(f"the remote cache is off: {exc}")
            return
        host = plain_http_to_another_host(config.url) if config.token or "@" in config.url else ""
        if host:
            self._notice(
                f"the remote cache's credentials go to {host} over plain http://, readable on the way: use https://"
            )

    def beside(self, store: Store) -> RemoteCache:
        """The same shared cache for another local store (the second cache level's): one backend, trust,
        signer and breaker (either going off turns both off), its own figures."""
        other = RemoteCache(self.config, store, self.mark, off=self.off or "-", backend=self.backend)
        other.off, other.stats.off = self.off, self.off
        other.stats.notices.clear()
        other.reads, other.signer, other.trust, other.backend = self.reads, self.signer, self.trust, self.backend
        other._beside = self
        return other

    def _load_signer(self) -> None:
        if self.config.signing_key is None:
            self._notice(
                "remote cache writes are on, but PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY names no key: nothing is uploaded"
            )
            return
        try:
            self.signer = Signer.from_file(self.config.signing_key)
        except SigningUnavailable as exc:
            self._notice(f"remote cache writes are off: {exc}")

    @property
    def on(self) -> bool:
        return not self.off and self.backend is not None and (self._beside is None or self._beside.on)

    @property
    def writes(self) -> bool:
        return self.on and self.signer is not None

    def _notice(self, text: str) -> None:
        with self._lock:
            if text not in self.stats.notices:
                self.stats.notices.append(text)

    def _turn_off(self, why: str) -> None:
        if self._beside is not None:
            self._beside._turn_off(why)  # it says so, once
            return
        with self._lock:
            if self.off:
                return
            self.off = why
            self.stats.off = why
        self._notice(why + "; this session goes on with the local cache only")

    def _call(self, fn: Callable[[], T]) -> T:
        """One request through the breaker; RemoteError when it failed (the tier may now be off)."""
        if not self.on:
            raise RemoteError(self.off or (self._beside.off if self._beside is not None else ""))
        try:
            value = fn()
        except (WriteRefused, TooBig):
            raise  # not the server's health: uploads stop, or that one entry is rejected
        except RemoteDown as exc:
            self._turn_off(f"the remote cache is off: {exc}")
            raise
        except RemoteError as exc:
            with self._lock:
                self._errors += 1
                errors = self._errors
            if errors >= ERRORS_IN_A_ROW:
                self._turn_off(f"the remote cache is off after {errors} errors in a row (last: {exc})")
            raise
        with self._lock:
            self._errors = 0
        return value

    def _reject(self, reason: str) -> None:
        with self._lock:
            self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1

    # Reading

    def fetch_many(self, keys: Iterable[str]) -> set[str]:
        """Fetch ahead: the manifests now (FETCH_THREADS at a time), the binaries in the background.

        Returns the keys with a verified manifest: they will be local hits, and
        the worker plan counts them so. Their content keeps arriving while
        pytest collects; a build that needs one first waits for it (``fetch``),
        and one whose content fails its checks is compiled after all.
        """
        wanted = [k for k in dict.fromkeys(keys) if not self.store.has(k)]
        if not wanted or not (self.on and self.reads):
            return set()
        self._started = time.monotonic()
        pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="wyn-remote-fetch")
        self._pool = pool
        asked = [pool.submit(self._manifest_of, key) for key in wanted]
        budget = FETCH_AHEAD_TIMEOUTS * self.config.timeout
        _, late = wait(asked, timeout=budget)
        if late:
            self._turn_off(f"the remote cache is off: fetching ahead did not finish within {budget:g} s")
        manifests = [None if f in late else _arrived_manifest(f) for f in asked]
        with self._lock:
            for key, manifest in zip(wanted, manifests, strict=True):
                if manifest is not None:
                    self._manifests[key] = manifest
                    self._arriving[key] = pool.submit(self._arrive, key, manifest, False)
            self._note_time()
            return set(self._arriving)

    def asked(self) -> tuple[str, ...]:
        """The keys asked for this session (fetched, missing or rejected): a worker need not ask again."""
        with self._lock:
            return tuple(sorted(self._looked))

    def asked_already(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._looked.update(keys)

    def settle(self) -> None:
        """Wait until what is being fetched ahead has arrived (before workers start: they cannot wait for it)."""
        for future in list(self._arriving.values()):
            _arrived(future)

    def fetch(self, key: str, locked: bool = False) -> bool:
        """Look key up in the remote; a verified entry is published into the local store (True).

        ``locked``: the caller holds the key's lock (the builder, about to
        compile), and a stale entry in the way is replaced. A key being fetched
        ahead is waited for, not asked again.
        """
        arriving = self._arriving.get(key)
        if arriving is not None:
            if arriving.cancel():  # still queued behind others: fetch it now, in the thread that needs it
                return self._arrive(key, self._manifests[key], locked)
            return _arrived(arriving) and self.store.has(key)
        manifest = self._manifest_of(key)
        return manifest is not None and self._arrive(key, manifest, locked)

    def _manifest_of(self, key: str) -> Verified | None:
        """The key's verified manifest, asked once per session; None: a miss (or rejected, or the remote off)."""
        if not (self.on and self.reads):
            return None
        with self._lock:
            if key in self._looked:
                return None
            self._looked.add(key)
            self.stats.looked_up += 1
        backend = self.backend
        assert backend is not None
        try:
            stored = self._call(lambda: backend.get(f"ac/{remote_name(self.space, key)}", MAX_MANIFEST))
        except TooBig:
            self._reject(f"not a manifest (over {MAX_MANIFEST >> 10} KiB)")
            return None
        except RemoteError:
            return None
        return None if stored is None else self._verified(stored, key)

    def _arrive(self, key: str, verified: Verified, replace: bool) -> bool:
        """Fetch and check the content a manifest names, then publish the entry locally."""
        backend = self.backend
        manifest = verified.manifest
        try:
            content = b""
            if manifest.result.status == "ok":
                assert backend is not None
                got = self._call(lambda: backend.get(f"cas/{manifest.digest}", manifest.size))
                if got is None:
                    self._reject("content missing")
                    return False
                if len(got) != manifest.size or sha256_bytes(got) != manifest.digest:
                    self._reject("content not matching its digest")
                    return False
                content = got
            self._publish(key, verified, content, replace)
        except TooBig:
            self._reject("content larger than its signed size")
            return False
        except FileExistsError:
            pass  # another process published it first: theirs is as good
        except RemoteError:
            return False
        except OSError:
            return False  # the local store could not take it: a miss, the build goes on
        with self._lock:
            self.stats.fetched += 1
            self._note_time()
        return True

    def _note_time(self) -> None:
        if self._started is not None:
            self.stats.fetch_seconds = max(self.stats.fetch_seconds, time.monotonic() - self._started)

    def _verified(self, stored: bytes, key: str) -> Verified | None:
        try:
            opened = open_envelope(stored, MAX_MANIFEST)
        except ValueError as exc:
            self._reject(f"not a manifest ({exc})")
            return None
        if opened is None:
            self._reject("unsigned")
            return None
        why = self.trust.judge(opened.signer, opened.message, opened.signature)
        if why:
            self._reject(why)
            return None
        try:
            manifest = Manifest.from_signed_bytes(opened.message)
        except (ValueError, TypeError, KeyError, RecursionError):
            self._reject("not a manifest")
            return None
        if manifest.format != FORMAT or manifest.namespace != self.space or manifest.key != key:
            self._reject("signed for another key or system")
            return None
        if manifest.result.status not in ("ok", "failed") or (
            manifest.result.status == "ok" and not _is_digest(manifest.digest)
        ):
            self._reject("not a manifest")
            return None
        return Verified(manifest, opened.signer)

    def _publish(self, key: str, verified: Verified, content: bytes, replace: bool) -> None:
        manifest = verified.manifest
        result = manifest.result
        meta = EntryMeta(result.status, result.compile_seconds, result.returncode, result.diagnostics)
        meta.origin = self.mark
        meta.signer = verified.signer.hex()
        staged = self.store.new_staging_dir()
        try:
            if result.status == "ok":
                fd = os.open(staged / "binary", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
            self.store.publish(key, staged, meta, replace, sha256=manifest.digest)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    # Writing

    def offer(self, key: str) -> None:
        """A writer's local entry for key: uploaded in the background unless the remote has it."""
        if not self.writes:
            return
        with self._lock:
            if key in self._offered:
                return
            self._offered.add(key)
            if self._uploader is None:
                self._uploader = threading.Thread(target=self._upload_loop, name="wyn-remote-upload", daemon=True)
                self._uploader.start()
        try:
            self._queue.put_nowait(key)
        except queue.Full:
            self._notice(f"more than {UPLOAD_QUEUE} uploads waiting: some entries were not uploaded")

    def _upload_loop(self) -> None:
        while True:
            key = self._queue.get()
            if key is None:
                return
            if not self.writes:
                continue
            try:
                self._upload(key)
            except WriteRefused as exc:
                self.signer = None  # uploads stop; reads go on
                self._notice(f"remote cache uploads stopped: {exc}")
                self._upload_failed(str(exc))
            except (RemoteError, OSError, CorruptEntry, UnsafeEntry) as exc:
                self._upload_failed(str(exc) or type(exc).__name__)

    def _upload_failed(self, why: str) -> None:
        with self._lock:
            self.stats.upload_failed += 1
            self.stats.upload_problem = why

    def _upload(self, key: str) -> None:
        backend, signer = self.backend, self.signer
        assert backend is not None and signer is not None
        entry = self.store.lookup(key)
        if entry is None or entry.meta.from_remote:
            return  # only what this machine compiled itself is signed by it
        meta = entry.meta
        content = b""
        if meta.status == "ok":
            if entry.binary is None:
                return
            with os.fdopen(open_own(entry.binary), "rb") as f:
                content = f.read()
            if sha256_bytes(content) != meta.binary_sha256:
                return  # the local entry is damaged: never shared
        digest = sha256_bytes(content) if meta.status == "ok" else ""
        manifest = Manifest(
            FORMAT,
            self.space,
            key,
            digest,
            len(content),
            Result(meta.status, meta.compile_seconds, meta.returncode, meta.diagnostics),
        )
        name = f"ac/{remote_name(self.space, key)}"
        try:
            current = self._call(lambda: backend.get(name, MAX_MANIFEST))
            opened = open_envelope(current, MAX_MANIFEST) if current is not None else None
        except (TooBig, ValueError):
            opened = None  # whatever is there is no entry of ours: ours replaces it
        if (
            opened is not None
            and opened.message == manifest.signed_bytes()
            and not self.trust.judge(opened.signer, opened.message, opened.signature)
        ):
            return  # already there, signed by a key we trust
        if content and not self._call(lambda: backend.has(f"cas/{digest}")):
            self._call(lambda: backend.put(f"cas/{digest}", content))  # the content first, then what names it
        signed = envelope(manifest, signer.public, signer.sign(manifest.signed_bytes()))
        self._call(lambda: backend.put(name, signed))
        with self._lock:
            self.stats.uploaded += 1

    def close(self, flush_seconds: float = 30.0) -> None:
        """Stop fetching, finish the uploads waiting (for at most flush_seconds), close the connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        uploader = self._uploader
        if uploader is not None:
            deadline = time.monotonic() + flush_seconds
            while True:
                try:
                    self._queue.put(None, timeout=max(deadline - time.monotonic(), 0.01))
                    break
                except queue.Full:
                    if time.monotonic() >= deadline:
                        break
            uploader.join(max(deadline - time.monotonic(), 0.0))
            if uploader.is_alive():
                self._notice(f"remote cache uploads were cut off after {flush_seconds:g} s at the end of the session")
                self.signer = None
        if self.backend is not None and self._beside is None:
            self.backend.close()  # a tier beside another shares its backend: the other closes it


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _arrived_manifest(future: Future[Verified | None]) -> Verified | None:
    try:
        return future.result()
    except Exception:
        return None


def _arrived(future: Future[bool]) -> bool:
    """Whether a fetch ahead brought its entry (one that failed in an unforeseen way did not)."""
    try:
        return future.result()
    except Exception:
        return False
