"""The shared cache's address: its scheme, how it is shown without secrets, and how long reaching it may take.

Light on purpose: the settings table reads these in every pytest run, Wyn
tests or not. The remote tier's settings as a whole are ``config.RemoteConfig``.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

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


def without_credentials(url: str) -> str:
    """The URL with no userinfo and no secret-looking query value: what may cross to another machine."""
    text = _QUERY_SECRET.sub("", url)
    m = _SCHEME.match(text)
    head, rest = (m.group(0), text[m.end() :]) if m else ("", text)
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return head + rest
