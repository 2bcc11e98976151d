"""The shared cache over plain HTTP: ``GET``/``HEAD``/``PUT`` under a base URL (Bazel's layout).

Standard library only, one kept-alive connection per thread, so nginx (WebDAV
``PUT``), Apache, wsgidav, Artifactory and bazel-remote all serve. A WebDAV
server answers 409 to a ``PUT`` into a missing folder: that folder is made
once (``MKCOL``) and the ``PUT`` tried again.
"""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.parse

from .errors import RemoteDown, RemoteError, WriteRefused

CONNECT_TIMEOUT = 1.0
MAX_BODY = 1 << 30


class HttpBackend:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
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
        self._made: set[str] = set()  # folders made (or found) after a 409
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before (it may have gone stale)."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None:
            return conn, True
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = kind(self.host, self.port, timeout=CONNECT_TIMEOUT)
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

    def request(self, method: str, name: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One request on this thread's connection; a stale kept-alive connection is replaced once."""
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.request(method, self.base + name, body=body, headers=self.headers)
                response = conn.getresponse()
                length = response.getheader("Content-Length")
                if length is not None and length.isdigit() and int(length) > MAX_BODY:
                    raise RemoteError(f"{method} {name}: a reply of {length} bytes is too big")
                data = response.read()  # always, HEAD too: the connection is ready for the next request
                if response.will_close:
                    self._drop()
                return response.status, data
            except TimeoutError:
                self._drop()
                raise RemoteDown(f"{self.describe} did not answer within {self.timeout:g} s") from None
            except http.client.IncompleteRead as exc:
                self._drop()
                raise RemoteError(f"{method} {name}: the reply was cut short ({len(exc.partial)} bytes)") from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue  # the server closed an idle kept-alive connection: normal, try a fresh one
                raise RemoteError(f"{method} {name}: {_why(exc)}") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise RemoteError(f"{method} {name}: {_why(exc)}") from None
        raise AssertionError("unreachable")

    def get(self, name: str) -> bytes | None:
        status, data = self.request("GET", name)
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
        """MKCOL each missing folder of name, once per session; whether any was new."""
        parts = name.split("/")[:-1]
        made = False
        for n in range(1, len(parts) + 1):
            folder = "/".join(parts[:n]) + "/"
            with self._lock:
                if folder in self._made:
                    continue
                self._made.add(folder)
            status, _ = self.request("MKCOL", folder)
            if status in (401, 403):
                raise WriteRefused(f"MKCOL {folder}: HTTP {status} (the server refuses this job's writes)")
            made = True  # 201 made, 405 already there: either way, PUT again
        return made

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
