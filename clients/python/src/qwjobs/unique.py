"""Unique jobs and debounce, the client's steps (README "Unique jobs and debounce"): claim a unique key in
``qw_<stream>_unique`` before publishing, and record the latest debounced job of a key where qw holds delays."""

from __future__ import annotations

import json
import time
from typing import Any, Awaitable, Callable, Optional

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from .wire import unique_holder, unique_kv_key

_CLAIM_TRIES = 5


async def open_key_bucket(js: JetStreamContext, bucket: str, ttl: float) -> KeyValue:
    """The bucket, created (one value per key, kept ``ttl`` seconds) when missing."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(bucket=bucket, ttl=ttl, history=1)


async def publish_unique(
    kv: KeyValue,
    task: str,
    key: str,
    job_id: str,
    result_state: Callable[[str], Awaitable[Optional[str]]],
    publish: Callable[[], Awaitable[Any]],
) -> tuple[str, bool]:
    """Publish unless another job of ``task`` holds ``key``: returns the id holding it and whether this job was
    published. The KV create decides between producers racing; a key whose job is over, or whose producer died
    before publishing, is taken over; a failed publish gives the key back."""
    kv_key = unique_kv_key(task, key)
    for _ in range(_CLAIM_TRIES):
        record = {"id": job_id, "at": int(time.time() * 1000), "published": False}
        try:
            revision = await kv.create(kv_key, json.dumps(record, separators=(",", ":")).encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            try:
                entry = await kv.get(kv_key)
            except nats.js.errors.KeyNotFoundError:
                continue
            try:
                held = json.loads(entry.value or b"")
            except ValueError:
                held = None
            held_id = held.get("id") if isinstance(held, dict) else None
            if held_id == job_id:
                await publish()  # the same job again: the stream's dedup keeps one
                return job_id, True
            state = await result_state(held_id) if isinstance(held_id, str) else None
            if unique_holder(held, state, int(time.time() * 1000)) == "held":
                return held_id, False  # type: ignore[return-value]
            try:
                await kv.delete(kv_key, last=entry.revision)
            except nats.js.errors.Error:
                pass
            continue
        try:
            await publish()
        except BaseException:
            try:
                await kv.delete(kv_key, last=revision)
            except nats.js.errors.Error:
                pass
            raise
        record["published"] = True
        try:
            await kv.update(kv_key, json.dumps(record, separators=(",", ":")).encode(), last=revision)
        except nats.js.errors.Error:
            pass
        return job_id, True
    raise nats.js.errors.Error(f"Cannot enqueue job as unique key '{key}' of task '{task}' changed hands {_CLAIM_TRIES} times")
