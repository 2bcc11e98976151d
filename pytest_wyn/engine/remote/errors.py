"""How a request to the shared cache can fail, by what the tier does next."""

from ..errors import HostError


class RemoteError(HostError):
    """A request failed (a server error, a cut-short reply): three in a row turn the remote off."""


class RemoteDown(RemoteError):
    """No connection, or no answer in time: the remote is off for the session at once."""


class TooBig(RemoteError):
    """A reply over the size it may have (a manifest's cap, or its content's signed size): that entry is rejected."""


class WriteRefused(RemoteError):
    """The server refuses this job's writes (401/403): uploads stop, reads go on."""
