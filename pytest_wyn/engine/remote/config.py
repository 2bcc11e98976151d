"""The remote tier's settings, as plain data (read by the pytest side, used by tier.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_REMOTE_TIMEOUT = 5.0


@dataclass(frozen=True)
class RemoteConfig:
    """The remote tier's settings (credentials come from the environment only)."""

    url: str
    token: str = ""
    timeout: float = DEFAULT_REMOTE_TIMEOUT
    trusted_keys: tuple[str, ...] = ()
    write: bool = False
    signing_key: Path | None = None

    def shown(self) -> str:
        """The URL without credentials, for messages."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
