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
import sys
from dataclasses import asdict, dataclass
from typing import Any

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

    status: str  # "ok" or "failed"
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


def open_envelope(data: bytes) -> Opened | None:
    """The parts of an ``ac/`` object; None when it is not one of ours or carries no signature."""
    try:
        body = json.loads(data)
        message = base64.b64decode(body["manifest"], validate=True)
        signer = base64.b64decode(body.get("signer") or "", validate=True)
        signature = base64.b64decode(body.get("signature") or "", validate=True)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not signer or not signature:
        return None
    return Opened(message, signer, signature)
