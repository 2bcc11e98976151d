"""The remote tier's settings, as plain data (read by the pytest side, used by tier.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .address import DEFAULT_REMOTE_TIMEOUT, redact, with_lower_scheme, without_credentials


@dataclass(frozen=True)
class RemoteConfig:
    """The remote tier's settings (credentials come from the environment only)."""

    url: str
    token: str = ""
    timeout: float = DEFAULT_REMOTE_TIMEOUT
    trusted_keys: tuple[str, ...] = ()
    write: bool = False
    signing_key: Path | None = None
    # Where the URL was set, for the session's warnings about the remote: the config file and its line, or
    # the environment variable or option that named it (line 1).
    source: tuple[str, int] = ("PYTEST_WYN_REMOTE_CACHE", 1)

    def shown(self) -> str:
        """The URL without credentials, for messages."""
        return redact(self.url)

    def for_another_host(self) -> RemoteConfig:
        """What travels to a worker on another machine: no credentials, no signing key (they are that host's own)."""
        return dataclasses.replace(self, url=without_credentials(self.url), token="", signing_key=None)

    def with_host_secrets(self, env: Mapping[str, str]) -> RemoteConfig:
        """This host's own credentials for the URL that travelled (``for_another_host``), from its environment.

        Its ``PYTEST_WYN_REMOTE_CACHE`` is used when it names the same cache (its credentials in it), its
        ``PYTEST_WYN_REMOTE_CACHE_TOKEN`` and ``PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY`` as on any host.
        """
        own = env.get("PYTEST_WYN_REMOTE_CACHE", "").strip()
        url = own if own and without_credentials(with_lower_scheme(own)) == self.url else self.url
        key = env.get("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", "")
        return dataclasses.replace(
            self,
            url=with_lower_scheme(url),
            token=env.get("PYTEST_WYN_REMOTE_CACHE_TOKEN", ""),
            signing_key=Path(key).expanduser() if key else None,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "signing_key": str(self.signing_key) if self.signing_key is not None else None,
            "trusted_keys": list(self.trusted_keys),
            "source": list(self.source),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> RemoteConfig:
        key = data.get("signing_key")
        source = data.get("source") or ("PYTEST_WYN_REMOTE_CACHE", 1)
        return cls(
            url=str(data["url"]),
            token=str(data.get("token", "")),
            timeout=float(data.get("timeout", DEFAULT_REMOTE_TIMEOUT)),
            trusted_keys=tuple(str(k) for k in data.get("trusted_keys", ())),
            write=bool(data.get("write", False)),
            signing_key=Path(key) if key else None,
            source=(str(source[0]), int(source[1])),
        )
