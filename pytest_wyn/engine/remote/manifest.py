"""What one shared entry says, and the only bytes a signature covers.

The manifest names the format, the namespace (the platform: binaries never
cross to an incompatible system), the local cache key, the content's digest
and size, and the recorded compile result. It is stored under ``ac/`` at a
name derived from namespace and key; the binary under ``cas/<sha256>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import platform
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any, Literal

FORMAT = "pytest-wyn-remote-1"


def namespace() -> str:
    """This system, as far as a native binary cares: OS, machine, C library."""
    libc, version = platform.libc_ver()
    return f"{sys.platform}-{platform.machine().lower()}-{libc or 'nolibc'}{version}"


def remote_name(space: str, key: str) -> str:
    """The ``ac/`` name of a key in a namespace (a sha256, as Bazel's HTTP cache layout expects)."""
    return hashlib.sha256(f"{FORMAT}\n{space}\n{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    """The compile result a manifest records (the local store's EntryMeta, minus local facts)."""

    status: Literal["ok", "failed"]
    compile_seconds: float
    returncode: int
    diagnostics: str


@dataclass(frozen=True)
class Manifest:
    format: str
    namespace: str
    key: str
    digest: str  # sha256 of the binary; "" for a failed compile (no content)
    size: int
    result: Result

    def signed_bytes(self) -> bytes:
        """Canonical JSON: what the signature covers, every field of it."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_signed_bytes(cls, data: bytes) -> Manifest:
        if _depth(data) > MAX_DEPTH:
            raise ValueError(f"nested over {MAX_DEPTH} levels")
        raw = json.loads(data)
        return cls(
            str(raw["format"]),
            str(raw["namespace"]),
            str(raw["key"]),
            str(raw["digest"]),
            int(raw["size"]),
            Result(**raw["result"]),
        )


def envelope(manifest: Manifest, signer: bytes, signature: bytes) -> bytes:
    """The stored ``ac/`` object: the manifest's exact bytes, who signed them, the signature."""
    body: dict[str, Any] = {
        "manifest": base64.b64encode(manifest.signed_bytes()).decode(),
        "signer": base64.b64encode(signer).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    return json.dumps(body).encode()


@dataclass(frozen=True)
class Opened:
    message: bytes  # the manifest bytes as stored (verified before they are parsed)
    signer: bytes
    signature: bytes


def open_envelope(data: bytes, cap: int) -> Opened | None:
    """The parts of an ``ac/`` object; None when it carries no signature; ValueError when it is no envelope.

    It comes from a server that may be hostile: its size and nesting are bounded
    before a parser sees it (deep nesting makes ``json`` recurse until it fails).
    """
    if len(data) > cap:
        raise ValueError(f"over {cap >> 10} KiB")
    if _depth(data) > MAX_DEPTH:
        raise ValueError(f"nested over {MAX_DEPTH} levels")
    try:
        body = json.loads(data)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        message = base64.b64decode(body["manifest"], validate=True)
        signer = base64.b64decode(body.get("signer") or "", validate=True)
        signature = base64.b64decode(body.get("signature") or "", validate=True)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise ValueError(type(exc).__name__ if not isinstance(exc, ValueError) else "not JSON of ours") from None
    if not signer or not signature:
        return None
    return Opened(message, signer, signature)


MAX_DEPTH = 4  # an envelope is one object of strings; a signed manifest nests two levels
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def _depth(data: bytes) -> int:
    """How deep JSON text nests, strings left out; counted by regular expressions, never recursively."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub(b"", data)):
        depth += 1 if m.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest
