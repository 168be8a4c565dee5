"""What a work stream takes of the primitives a producer uses, read from its config once.

Two flags matter to a producer: ``allow_msg_schedules`` (nats-server 2.12+: the server holds
delayed jobs) and ``allow_atomic`` (2.12+: many jobs in atomic batches). A publish that uses
either on a stream without the flag is refused, so the client asks the stream first, once.
When it cannot tell it uses neither: a stream not created yet is asked again at the next
publish; a stream it may not read is asked again after ``RETRY_AFTER`` seconds. A server
too old for both is never asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

import nats.js.errors

from .batch import atomic_batch_server
from .wire import server_holds

__all__ = ["StreamCaps", "StreamCapsProbe", "NEITHER", "RETRY_AFTER", "caps_of"]

#: Seconds to use neither primitive after a failed look at the stream.
RETRY_AFTER = 30.0


@dataclass(frozen=True)
class StreamCaps:
    """What the stream takes: the server holds its delayed jobs; many jobs go in atomic batches."""

    server_held: bool
    atomic: bool


NEITHER = StreamCaps(server_held=False, atomic=False)


def caps_of(version: str, config: Any) -> StreamCaps:
    """The primitives a stream of this config takes on a server of ``version`` (``2.15.3``)."""
    return StreamCaps(
        server_held=server_holds(version, getattr(config, "allow_msg_schedules", None)),
        atomic=atomic_batch_server(version) and getattr(config, "allow_atomic", None) is True,
    )


class StreamCapsProbe:
    """Resolves what the stream takes; ``None`` while the stream does not exist."""

    def __init__(
        self,
        stream_info: Callable[[], Awaitable[Any]],
        version: Callable[[], str],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream_info = stream_info
        self._version = version
        self._now = now
        self._answer: Optional[StreamCaps] = None
        self._ask_again_at = 0.0

    async def __call__(self) -> Optional[StreamCaps]:
        if self._answer is not None:
            return self._answer
        if self._now() < self._ask_again_at:
            return NEITHER
        version = self._version()
        if not atomic_batch_server(version):
            self._answer = NEITHER  # both came in 2.12: nothing to ask
            return self._answer
        try:
            info = await self._stream_info()
        except nats.js.errors.NotFoundError:
            return None
        except Exception:
            self._ask_again_at = self._now() + RETRY_AFTER
            return NEITHER
        self._answer = caps_of(version, info.config)
        return self._answer
