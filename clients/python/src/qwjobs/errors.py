"""Every exception qwjobs raises: catch ``QwError`` for all of them.

Bad input raises ``InvalidJobError`` (also a ``ValueError``) before anything is
sent; the others describe the server or the job's state.
"""

from __future__ import annotations

__all__ = [
    "QwError",
    "InvalidJobError",
    "InvalidFlowError",
    "ConnectError",
    "StreamNotFoundError",
    "PublishError",
    "ResultTimeoutError",
    "ClientClosedError",
]


class QwError(Exception):
    """The base of every qwjobs error."""


class InvalidJobError(QwError, ValueError):
    """A job cannot be enqueued as given: a bad task name, id, countdown, eta, header or argument."""


class InvalidFlowError(InvalidJobError):
    """A workflow is not made of sig, chain, group and chord nodes, or one of them is invalid."""


class ConnectError(QwError):
    """The NATS server cannot be reached, or it has no JetStream."""


class StreamNotFoundError(QwError):
    """The work stream does not exist: no qw worker (or ``qw init``) created it yet."""


class PublishError(QwError):
    """The server did not store a job."""


class ResultTimeoutError(QwError, TimeoutError):
    """A job reached no final state within the timeout."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        #: The job's state when the wait ended.
        self.state = state


class ClientClosedError(QwError):
    """The client was closed."""
