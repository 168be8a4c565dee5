"""Many jobs at once: atomic batches (ADR-50) on nats-server 2.12+ when the stream has ``allow_atomic``.

Each batch of up to 1,000 jobs is stored whole or not at all. Members keep their
``Nats-Msg-Id``: the server refuses a whole batch holding an id it stored
already, and that batch is then published one by one, which stores only what is
missing. Elsewhere every job is published on its own (``one_by_one``).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from typing import Awaitable, Callable, Sequence

import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from .errors import PublishError
from .wire import Message

__all__ = ["MAX_ATOMIC_BATCH", "split_batches", "batch_headers", "atomic_batch_server", "publish_many"]

#: The most messages one atomic batch may hold: the server's default ``max_batch_size``.
MAX_ATOMIC_BATCH = 1000
#: The stream lacks ``allow_atomic``.
ATOMIC_DISABLED = 10174
#: A member's ``Nats-Msg-Id`` is stored already: nothing of the batch is stored.
ATOMIC_DUPLICATE = 10201
#: The stream (50) or the server (1,000) has as many batches open as it takes: try again shortly.
ATOMIC_TOO_MANY_INFLIGHT = 10210
#: How often a batch is sent again when too many are open, and the first pause in seconds (doubled each time).
INFLIGHT_RETRIES = 5
INFLIGHT_PAUSE = 0.05
#: Seconds the commit of a batch may take to be acked.
COMMIT_TIMEOUT = 30.0


def split_batches(count: int, size: int = MAX_ATOMIC_BATCH) -> list[tuple[int, int]]:
    """``count`` jobs cut into consecutive ``(start, end)`` ranges of at most ``size``."""
    if count < 0 or size < 1:
        raise ValueError(f'Cannot split jobs into batches as count must be >= 0 and size >= 1: current values are "{count}", "{size}"')
    return [(start, min(count, start + size)) for start in range(0, count, size)]


def batch_headers(batch_id: str, index: int, size: int) -> dict[str, str]:
    """The batch headers of member ``index`` (0-based) of a batch of ``size``: the last one commits."""
    h = {"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(index + 1)}
    if index == size - 1:
        h["Nats-Batch-Commit"] = "1"
    return h


def atomic_batch_server(version: str) -> bool:
    """Whether a server version (``2.15.3``) has atomic batches: 2.12 or later."""
    m = re.match(r"^v?(\d+)\.(\d+)", version or "")
    if not m:
        return False
    major, minor = int(m.group(1)), int(m.group(2))
    return major > 2 or (major == 2 and minor >= 12)


async def publish_many(
    nc: NATS,
    js: JetStreamContext,
    messages: Sequence[Message],
    *,
    atomic: bool,
    one_by_one: Callable[[Sequence[Message]], Awaitable[None]],
) -> None:
    """Publish ``messages`` in order: atomic batches when ``atomic``, else ``one_by_one``."""
    if not atomic or len(messages) < 2:
        await one_by_one(messages)
        return
    for start, end in split_batches(len(messages)):
        part = messages[start:end]
        if atomic and len(part) > 1:
            try:
                await _publish_batch_retrying(nc, js, part)
                continue
            except nats.js.errors.APIError as e:
                if e.err_code == ATOMIC_DISABLED:
                    atomic = False
                elif e.err_code != ATOMIC_DUPLICATE:
                    before = "" if start == 0 else f"; jobs 1 to {start} were stored"
                    raise PublishError(
                        f"Cannot enqueue jobs {start + 1} to {end} of {len(messages)} as an atomic batch: "
                        f"{e.description or e} (none of them was stored{before})"
                    ) from None
        await one_by_one(part)


async def _publish_batch_retrying(nc: NATS, js: JetStreamContext, part: Sequence[Message]) -> None:
    """``_publish_batch``, sent again after a pause while the server has too many batches open (nothing was stored)."""
    for attempt in range(INFLIGHT_RETRIES + 1):
        try:
            await _publish_batch(nc, js, part)
            return
        except nats.js.errors.APIError as e:
            if e.err_code != ATOMIC_TOO_MANY_INFLIGHT or attempt == INFLIGHT_RETRIES:
                raise
            await asyncio.sleep(INFLIGHT_PAUSE * 2**attempt * (0.5 + random.random()))


async def _publish_batch(nc: NATS, js: JetStreamContext, part: Sequence[Message]) -> None:
    """The first member as a request (only its reply says whether the batch opened), the middle ones
    without a reply, the last with ``Nats-Batch-Commit``."""
    batch_id = str(uuid.uuid4())
    last = len(part) - 1
    first = part[0]
    reply = await nc.request(first.subject, first.body, timeout=COMMIT_TIMEOUT, headers={**first.headers, **batch_headers(batch_id, 0, len(part))})
    if reply.data:
        err = json.loads(reply.data).get("error")
        if err:
            nats.js.errors.APIError.from_error(err)
    for i, m in enumerate(part[1:last], start=1):
        await nc.publish(m.subject, m.body, headers={**m.headers, **batch_headers(batch_id, i, len(part))})
    m = part[last]
    await js.publish(m.subject, m.body, headers={**m.headers, **batch_headers(batch_id, last, len(part))}, timeout=COMMIT_TIMEOUT)


