"""Who may write the shared cache: Ed25519 signatures over manifests (OpenSSH key files and lines).

Readers verify against the public keys the project trusts; a shared secret
(HMAC) would let every reader forge. ``cryptography`` is optional
(``pytest-wyn[remote]``): without it the remote tier is off, with a reason.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

DOMAIN = b"pytest-wyn remote manifest v1\0"  # a signature made for us is never valid for anything else


class SigningUnavailable(UsageError):
    """The remote tier cannot check or make signatures here (no ``cryptography``, or a bad key)."""


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise SigningUnavailable(
            "checking signatures needs the cryptography package: pip install 'pytest-wyn[remote]'"
        ) from None
    return serialization


@dataclass(frozen=True)
class PublicKey:
    raw: bytes  # the 32-byte Ed25519 key
    name: str  # the comment of its OpenSSH line, for messages

    @property
    def line(self) -> str:
        return ssh_line(self.raw, self.name)


def ssh_line(raw: bytes, name: str = "") -> str:
    """The OpenSSH public key line of a raw Ed25519 key."""
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + len(raw).to_bytes(4, "big") + raw
    return f"ssh-ed25519 {base64.b64encode(blob).decode()}" + (f" {name}" if name else "")


def parse_public_line(line: str) -> PublicKey:
    """``ssh-ed25519 AAAA… comment`` as a key; ValueError for anything else."""
    words = line.split()
    if len(words) < 2 or words[0] != "ssh-ed25519":
        raise ValueError(f"not an ssh-ed25519 public key line: {line.strip()[:60]!r}")
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"not base64: {words[1][:20]!r}…") from None
    kind_len = int.from_bytes(blob[:4], "big")
    kind = blob[4 : 4 + kind_len]
    rest = blob[4 + kind_len :]
    key_len = int.from_bytes(rest[:4], "big")
    raw = rest[4 : 4 + key_len]
    if kind != b"ssh-ed25519" or key_len != 32 or len(raw) != 32 or len(rest) != 36:
        raise ValueError(f"not an Ed25519 key: {words[1][:20]!r}…")
    return PublicKey(raw, " ".join(words[2:]))


@dataclass(frozen=True)
class TrustedKeys:
    """The keys whose signatures a reader accepts; ``@revoked`` lines (as in known_hosts) win over trust."""

    trusted: tuple[PublicKey, ...]
    revoked: frozenset[bytes]

    @classmethod
    def parse(cls, lines: list[str]) -> TrustedKeys:
        trusted: list[PublicKey] = []
        revoked: set[bytes] = set()
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if text.startswith("@revoked"):
                revoked.add(parse_public_line(text[len("@revoked") :]).raw)
            else:
                trusted.append(parse_public_line(text))
        return cls(tuple(k for k in trusted if k.raw not in revoked), frozenset(revoked))

    def still_trusts(self, signer_hex: str) -> bool:
        """Whether a local entry fetched under this signer may still be served (no signature check: done then)."""
        try:
            raw = bytes.fromhex(signer_hex)
        except ValueError:
            return False
        return raw not in self.revoked and any(k.raw == raw for k in self.trusted)

    def judge(self, signer: bytes, message: bytes, signature: bytes) -> str:
        """ "" when a trusted key signed message; else why not (a rejection reason)."""
        if signer in self.revoked:
            return "signed by a revoked key"
        key = next((k for k in self.trusted if k.raw == signer), None)
        if key is None:
            return "signed by a key the project does not trust"
        if not verify(signer, message, signature):
            return "wrongly signed"
        return ""


def verify(raw: bytes, message: bytes, signature: bytes) -> bool:
    _crypto()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, DOMAIN + message)
    except (InvalidSignature, ValueError):
        return False
    return True


class Signer:
    """A writer's private key (an OpenSSH ``ssh-ed25519`` key file without a passphrase)."""

    def __init__(self, private: Any) -> None:
        self._private = private
        serialization = _crypto()
        self.public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        serialization = _crypto()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        try:
            data = path.read_bytes()
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise SigningUnavailable(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
        if os.name == "posix" and mode & 0o077:
            # As ssh refuses an UNPROTECTED PRIVATE KEY FILE: whoever can read it can sign what every reader trusts.
            raise SigningUnavailable(
                f"the signing key {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
                f"a private key must be yours alone, as ssh requires: chmod 600 {path}"
            )
        try:
            key = serialization.load_ssh_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningUnavailable(
                f"{path} is not an unencrypted OpenSSH private key ({exc}); make one with ssh-keygen -t ed25519 -N ''"
            ) from None
        except Exception as exc:  # cryptography's own errors for unsupported key types
            raise SigningUnavailable(f"{path} is not a usable signing key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningUnavailable(f"{path} is not an Ed25519 key; make one with ssh-keygen -t ed25519")
        return cls(key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._private.sign(DOMAIN + message))


def available() -> str:
    """ "" when signatures can be checked here, else why not."""
    try:
        _crypto()
    except SigningUnavailable as exc:
        return str(exc)
    return ""
