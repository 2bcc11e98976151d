"""The remote tier's settings, as plain data (read by the pytest side, used by tier.py)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_REMOTE_TIMEOUT = 5.0
# Connecting, within a request's deadline. Past 1 s so that one resend of a connection request fits:
# a busy server whose queue of new connections is full drops it, and Linux resends it after 1 s.
CONNECT_TIMEOUT = 1.5
SCHEMES = ("http", "https", "redis", "rediss", "unix")

_SCHEME = re.compile(r"(?i)^([a-z][a-z0-9+.\-]*)://")
# A credential in the query runs to the end of what is shown: its value may hold '&' or '#' itself.
_QUERY_SECRET = re.compile(
    r"(?i)([?&;#](?:password|passwd|pass|pwd|token|access_token|secret|api[_-]?key|auth|authorization)=).*",
    re.DOTALL,
)


def redact(url: str) -> str:
    """The URL as any message may show it: no userinfo, no password or token in the query, whatever its shape.

    Parsers disagree on odd URLs (an upper-case scheme, no host, a password
    holding '/' or '#'), so this one does not parse: everything before the
    last '@' after the scheme goes, and a secret-looking query value and all
    after it.
    """
    text = _QUERY_SECRET.sub(r"\1***", url)
    m = _SCHEME.match(text)
    head, rest = (m.group(0), text[m.end() :]) if m else ("", text)
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return head + rest


def scheme_of(url: str) -> str:
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else ""


def with_lower_scheme(url: str) -> str:
    """``HTTPS://host/`` as ``https://host/``: schemes are case-insensitive, the back-ends compare them as written."""
    m = _SCHEME.match(url)
    return m.group(1).lower() + url[m.end(1) :] if m else url


def plain_http_to_another_host(url: str) -> str:
    """The host, when credentials would cross the network unencrypted (http:// to a non-loopback host); else ""."""
    if scheme_of(url) != "http":
        return ""
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""
    if host == "localhost":
        return ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return ""
    except ValueError:
        pass
    return host


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


def without_credentials(url: str) -> str:
    """The URL with no userinfo and no secret-looking query value: what may cross to another machine."""
    text = _QUERY_SECRET.sub("", url)
    m = _SCHEME.match(text)
    head, rest = (m.group(0), text[m.end() :]) if m else ("", text)
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return head + rest
