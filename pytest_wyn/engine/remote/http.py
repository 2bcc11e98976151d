"""The shared cache over plain HTTP: ``GET``/``HEAD``/``PUT`` under a base URL (Bazel's layout).

Standard library only, one kept-alive connection per thread, so nginx (WebDAV
``PUT``), Apache, wsgidav, Artifactory and bazel-remote all serve. A WebDAV
server answers 409 to a ``PUT`` into a missing folder: the missing folders,
the base URL's own included, are made (``MKCOL``) and the ``PUT`` tried again.

A server is not trusted to end what it sends: every body is read in chunks
against the caller's cap, and every request has one total deadline (connect,
headers and body together), so a server that drips bytes or never ends a body
costs a bounded time and memory.
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
import urllib.parse

from .address import CONNECT_TIMEOUT, redact
from .errors import RemoteDown, RemoteError, TooBig, WriteRefused

REPLY_CAP = 64 << 10  # what a PUT, HEAD or MKCOL reply may carry
MIN_RATE = 1 << 20  # bytes a second a large body is given beyond the timeout
CHUNK = 64 << 10


class HttpBackend:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError:
            parts, port = urllib.parse.urlsplit(""), None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"not a usable http(s) URL: {redact(url)!r} (it needs a host; a password holding '/', '#' "
                "or '@' must be percent-encoded, or given as PYTEST_WYN_REMOTE_CACHE_TOKEN)"
            )
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = port or (443 if self.https else 80)
        self.base = (parts.path or "/").rstrip("/") + "/"
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            self.headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.describe = f"{parts.scheme}://{self.host}:{self.port}{self.base}"
        self._local = threading.local()
        self._made: set[str] = set()  # folders known to exist (a MKCOL answered 201 or 405)
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def _connection(self, deadline: float) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before (it may have gone stale)."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None:
            return conn, True
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = kind(self.host, self.port, timeout=max(min(CONNECT_TIMEOUT, deadline - time.monotonic()), 0.001))
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise RemoteDown(f"cannot connect to {self.describe}: {_why(exc)}") from None
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn, False

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(
        self, method: str, name: str, body: bytes | None = None, cap: int = REPLY_CAP, path: str = ""
    ) -> tuple[int, bytes]:
        """One request on this thread's connection; a stale kept-alive connection is replaced once.

        The reply's body may have at most ``cap`` bytes (TooBig past it), and the
        whole request has ``timeout`` seconds, plus time for a large body at MIN_RATE.
        ``path``: the server path itself, instead of ``name`` under the base URL.
        """
        allowed = self.timeout + (max(cap, len(body or b"")) / MIN_RATE if cap > REPLY_CAP or body else 0.0)
        deadline = time.monotonic() + allowed
        for attempt in (1, 2):
            conn, reused = self._connection(deadline)
            expired = threading.Event()
            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _cut, (conn, expired))
            timer.daemon = True
            timer.start()
            try:
                conn.request(method, path or self.base + name, body=body, headers=self.headers)
                response = conn.getresponse()
                data = _read_capped(response, cap, f"{method} {name}")
                if response.will_close:
                    self._drop()
                return response.status, data
            except TooBig:
                self._drop()  # the rest of the body is never read
                raise
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if expired.is_set() or isinstance(exc, TimeoutError):
                    raise RemoteDown(
                        f"{self.describe} did not complete a request within {allowed:g} s "
                        "(connecting, the headers and the body together)"
                    ) from None
                if isinstance(exc, http.client.IncompleteRead):
                    raise RemoteError(f"{method} {name}: the reply was cut short ({len(exc.partial)} bytes)") from None
                stale = isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                if stale and reused and attempt == 1:
                    continue  # the server closed an idle kept-alive connection: normal, try a fresh one
                raise RemoteError(f"{method} {name}: {_why(exc)}") from None
            finally:
                timer.cancel()
        raise AssertionError("unreachable")

    def get(self, name: str, cap: int) -> bytes | None:
        status, data = self.request("GET", name, cap=cap)
        if status == 200:
            return data
        if status == 404:
            return None
        raise RemoteError(f"GET {name}: HTTP {status}")

    def has(self, name: str) -> bool:
        status, _ = self.request("HEAD", name)
        if status in (200, 204):
            return True
        if status == 404:
            return False
        raise RemoteError(f"HEAD {name}: HTTP {status}")

    def put(self, name: str, data: bytes) -> None:
        status, _ = self.request("PUT", name, data)
        if status == 409 and self._make_folders(name):
            status, _ = self.request("PUT", name, data)
        if status in (200, 201, 204):
            return
        if status in (401, 403):
            raise WriteRefused(f"PUT {name}: HTTP {status} (the server refuses this job's writes)")
        raise RemoteError(f"PUT {name}: HTTP {status}")

    def _make_folders(self, name: str) -> bool:
        """MKCOL each folder on the way to name not known to exist, the base URL's own included; True: PUT again.

        A fresh WebDAV server has none of them: a base URL of ``/team/wyn/`` needs
        ``/team/`` and ``/team/wyn/`` before ``/team/wyn/cas/``. A folder counts as
        there once a MKCOL answered 201 (made) or 405 (there already): two threads
        may both ask, and both then PUT again.
        """
        parts = [p for p in (self.base + name).split("/")[:-1] if p]
        folders = ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]
        with self._lock:
            missing = [f for f in folders if f not in self._made]
        for folder in missing:
            status, _ = self.request("MKCOL", folder, path=folder)
            if status in (401, 403):
                raise WriteRefused(f"MKCOL {folder}: HTTP {status} (the server refuses this job's writes)")
            if status in (201, 405):
                with self._lock:
                    self._made.add(folder)
        return True

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _read_capped(response: http.client.HTTPResponse, cap: int, what: str) -> bytes:
    """The whole body (HEAD's too: the connection is then ready for the next request), never more than cap."""
    length = response.getheader("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > cap:
        raise TooBig(f"{what}: a reply of {int(length)} bytes, over the {cap} allowed")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(min(CHUNK, cap + 1 - size))
        if not chunk:
            if response.length:  # read(amt) returns short at a closed connection: the reply was cut
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise TooBig(f"{what}: the reply went on past the {cap} bytes allowed")
        chunks.append(chunk)


def _cut(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The request's total deadline passed: end whatever read or write it is blocked in."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
