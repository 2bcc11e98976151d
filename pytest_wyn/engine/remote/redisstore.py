"""The shared cache in Redis (``redis://``, ``rediss://``), through redis-py (``pytest-wyn[redis]``).

Objects are plain string keys ``pytest-wyn:ac/<name>`` and ``pytest-wyn:cas/<sha256>``,
so a Redis ACL can give readers ``+get +exists`` on ``~pytest-wyn:*`` and writers ``+set`` too.
"""

from __future__ import annotations

from typing import Any

from .address import redact
from .errors import RemoteDown, RemoteError, TooBig, WriteRefused

PREFIX = "pytest-wyn:"


class RedisBackend:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        try:
            import redis
        except ImportError:
            raise RemoteError("a redis:// remote cache needs redis-py: pip install 'pytest-wyn[redis]'") from None
        self._redis = redis
        kwargs: dict[str, Any] = {"socket_connect_timeout": 1.0, "socket_timeout": timeout}
        if token:
            kwargs["password"] = token
        self.client = redis.Redis.from_url(url, **kwargs)
        self.describe = redact(url)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        errors = self._redis.exceptions
        try:
            return fn(*args)
        except (errors.ConnectionError, errors.TimeoutError) as exc:
            raise RemoteDown(f"{self.describe}: {exc}") from None
        except errors.NoPermissionError as exc:
            if what == "SET":
                raise WriteRefused(f"{what}: {exc} (this Redis user may not write)") from None
            raise RemoteError(f"{what}: {exc}") from None
        except errors.RedisError as exc:
            raise RemoteError(f"{what}: {exc}") from None

    def get(self, name: str, cap: int) -> bytes | None:
        """The value, TooBig over cap. redis-py reads a whole reply: the server's own limit
        (``proto-max-bulk-len``, 512 MiB by default) bounds it, not this cap."""
        value = self._call("GET", self.client.get, PREFIX + name)
        if value is not None and len(value) > cap:
            raise TooBig(f"GET {name}: {len(value)} bytes, over the {cap} allowed")
        return None if value is None else bytes(value)

    def has(self, name: str) -> bool:
        return bool(self._call("EXISTS", self.client.exists, PREFIX + name))

    def put(self, name: str, data: bytes) -> None:
        self._call("SET", self.client.set, PREFIX + name, data)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
