"""Real cache servers on 127.0.0.1 for the remote-cache tests, and misbehaving ones.

wsgidav (PyPI, in the dev extra), nginx and redis-server (Debian packages,
installed by .ci/run) run as child processes on free ports with their
configuration in a temporary directory, and are stopped by their pid. The
misbehaving servers are threads of the test process.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

try:  # imported here, once: pytester's in-process runs drop modules first imported inside them,
    # and cryptography's compiled core cannot be imported a second time in one process
    import cryptography.exceptions
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey  # noqa: F401
except ImportError:  # the tests that need it skip
    cryptography = None  # type: ignore[assignment]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not listen on {port} within {limit} s:\n{log.read_text(errors='replace')[-2000:]}")


class Server:
    def __init__(self, argv: list[str], port: int, workdir: Path, url: str) -> None:
        self.port = port
        self.url = url
        self.log = workdir / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, self.proc, self.log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wsgidav_command() -> str:
    found = shutil.which("wsgidav", path=os.path.dirname(sys.executable)) or shutil.which("wsgidav")
    if found is None:
        pytest.skip("wsgidav is not installed (pip install -e '.[dev]')")
    return found


def start_wsgidav(workdir: Path) -> Server:
    """A WebDAV share of workdir/data: anonymous reads and writes (folders need MKCOL)."""
    data = workdir / "data"
    data.mkdir(parents=True)
    port = free_port()
    argv = [wsgidav_command(), "--host", "127.0.0.1", "--port", str(port), "--root", str(data)]
    return Server([*argv, "--auth", "anonymous", "--no-config", "-q"], port, workdir, f"http://127.0.0.1:{port}/")


NGINX_CONF = """\
{user}
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{server}
}}
"""


def readme_nginx_server(workdir: Path, port: int) -> str:
    """The README's nginx ``server`` block, as a user copies it, with this test's port, folders and password file."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "remote-cache.md").read_text(encoding="utf-8")
    block = page.split("```nginx\n", 1)[1].split("```", 1)[0]
    lines = [ln for ln in block.splitlines() if "server_name" not in ln]
    server = "\n".join(lines)
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port};"),
        ("root /srv/wyn-cache;", f"root {workdir}/data;"),
        ("/etc/nginx/wyn-cache.htpasswd", f"{workdir}/htpasswd"),
    ):
        assert old in server, f"the README's nginx block has no {old!r}"
        server = server.replace(old, new)
    return server


def start_nginx(workdir: Path, user: str, password: str) -> Server:
    """nginx with the README's own server block: anonymous GET/HEAD, PUT only with a password."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run installs it)")
    (workdir / "data").mkdir(parents=True)
    (workdir / "htpasswd").write_text(f"{user}:{{PLAIN}}{password}\n")
    port = free_port()
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    conf = workdir / "nginx.conf"
    server = readme_nginx_server(workdir, port)
    conf.write_text(NGINX_CONF.format(dir=workdir, user="user root;" if root else "", server=server))
    return Server([nginx, "-c", str(conf), "-p", str(workdir)], port, workdir, f"http://127.0.0.1:{port}/")


def start_redis(workdir: Path, reader_password: str) -> Server:
    """redis-server with the default user writing and a ``reader`` that may only GET and EXISTS."""
    redis = shutil.which("redis-server")
    if redis is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    pytest.importorskip("redis", reason="redis-py is not installed (pip install -e '.[dev]')")
    workdir.mkdir(parents=True)
    port = free_port()
    acl = workdir / "users.acl"
    acl.write_text(
        "user default on nopass ~* &* +@all\n"
        f"user reader on >{reader_password} ~pytest-wyn:* resetchannels -@all +get +exists\n"
    )
    argv = [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return Server([*argv, "--aclfile", str(acl), "--dir", str(workdir)], port, workdir, f"redis://127.0.0.1:{port}/0")


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


class _QueueingServer(http.server.ThreadingHTTPServer):
    """Queues as many new connections as a real server (nginx: 511), not socketserver's 5.

    With 5, fetching ahead's eight connections at once had some dropped while
    a busy machine was slow to accept them.
    """

    request_queue_size = 128


class FaultServer:
    """An HTTP cache in this process that can misbehave: ``mode`` may change while it runs.

    ok: a working store in memory; 500: every request fails; truncated: a GET
    reply promises more bytes than it sends; put401: reads work, writes are
    refused; silent: connections are accepted and never answered. Hostile
    readers' servers: nested (every GET of an ``ac/`` name is 200 KB of ``[``);
    endless (every GET is a chunked body that never ends); endless-content
    (manifests as stored, content endless); drip (a GET's reply is sent one byte
    every half second); put409 (every PUT 409, as a WebDAV server whose folders
    are missing, and no MKCOL).
    """

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.objects: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.silent_sockets: list[socket.socket] = []
        self.delay = 0.0  # seconds each GET waits before it is answered
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _serve(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                if server.mode == "silent":
                    server.silent_sockets.append(self.connection)
                    time.sleep(60)
                    return
                if self.command == "PUT":
                    data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if server.mode == "500":
                    self._reply(500, b"broken")
                    return
                name = self.path.lstrip("/")
                if self.command == "PUT":
                    if server.mode in ("put401", "put409"):
                        self._reply(401 if server.mode == "put401" else 409, b"no")
                        return
                    server.objects[name] = data
                    self._reply(201)
                    return
                if self.command == "GET" and self._hostile(name):
                    return
                if self.command == "GET" and server.delay:
                    time.sleep(server.delay)
                body = server.objects.get(name)
                if body is None:
                    self._reply(404, b"missing")
                elif server.mode == "truncated" and self.command == "GET":
                    self._reply(200, body[: len(body) // 2], length=len(body))
                    self.close_connection = True
                else:
                    self._reply(200, body)

            def _hostile(self, name: str) -> bool:
                """Misbehave as the mode says (True), within 60 s and until the reader hangs up."""
                mode, stored = server.mode, server.objects.get(name)
                if mode == "nested" and name.startswith("ac/"):
                    self._reply(200, b"[" * 200_000)
                elif mode == "endless" or (mode == "endless-content" and name.startswith("cas/")):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
                    self._keep_sending(lambda: self.wfile.write(chunk))
                elif mode == "drip" and stored is not None:
                    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(stored), stored)
                    left = iter(reply)
                    self._keep_sending(lambda: (time.sleep(0.5), self.wfile.write(bytes([next(left)]))))
                else:
                    return False
                self.close_connection = True
                return True

            def _keep_sending(self, send: Callable[[], object]) -> None:
                end = time.monotonic() + 60
                try:
                    while time.monotonic() < end:
                        send()
                        self.wfile.flush()
                except (OSError, StopIteration):
                    pass

            do_GET = do_HEAD = do_PUT = _serve

        self.httpd = _QueueingServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        for sock in self.silent_sockets:
            try:
                sock.close()
            except OSError:
                pass


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_key(path: Path, comment: str) -> str:
    """An OpenSSH ssh-ed25519 private key file at path (as ssh-keygen -t ed25519 -N '' makes); its public line."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{public.decode()} {comment}"
