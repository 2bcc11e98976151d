"""The second level's way to the shared cache: the C-compiler front asks the builder's process.

The front runs in a process of its own for each compile, but the shared cache's
tier (its breaker, trust, figures and uploads) lives in the pytest process. So
the builder serves one question on a loopback socket, ``TOKEN KEY``: fetch that
C-level entry into the local second-level store if the shared cache has a
verified one. The answer is ``hit`` or ``miss``; anything else, or no answer,
is a miss. The token (random, per process) keeps other local programs out.
"""

from __future__ import annotations

import hmac
import re
import secrets
import socket
import socketserver
import threading

from .remote.tier import RemoteCache

ADDRESS = "PYTEST_WYN_C_FETCH"  # host:port, for the front
TOKEN = "PYTEST_WYN_C_FETCH_TOKEN"
_KEY = re.compile(r"[0-9a-f]{64}")


class FetchServer:
    """A loopback server in a daemon thread, for this process's fronts."""

    def __init__(self, remote: RemoteCache) -> None:
        self.token = secrets.token_hex(16)
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                try:
                    words = self.rfile.readline(200).decode("ascii", "replace").split()
                except OSError:
                    return
                ok = len(words) == 2 and hmac.compare_digest(words[0], server.token) and _KEY.fullmatch(words[1])
                found = bool(ok) and remote.fetch(words[1])
                try:
                    self.wfile.write(b"hit\n" if found else b"miss\n")
                except OSError:
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="wyn-c-fetch", daemon=True)
        self._thread.start()

    def env(self) -> dict[str, str]:
        return {ADDRESS: self.address, TOKEN: self.token}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def ask(address: str, token: str, key: str, timeout: float) -> bool:
    """From the front: whether the builder brought ``key``'s entry into the local store (never raises)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(f"{token} {key}\n".encode("ascii"))
            return conn.makefile("rb").readline(16).strip() == b"hit"
    except (OSError, ValueError):
        return False
