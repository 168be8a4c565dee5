"""The asyncio client: enqueue jobs and workflows onto a qw stream, read and await results, revoke.

    async with await qwjobs.Client.connect("nats://127.0.0.1:4222", stream="jobs") as client:
        id = await client.enqueue("add", 2, 3)
        print((await client.wait(id, timeout=30)).value)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from . import errors
from .batch import publish_many
from .flows import Node, normalize
from .stream_caps import StreamCapsProbe
from .tracing import sending, sending_many
from .unique import open_key_bucket, publish_unique
from .wire import (
    Job,
    Message,
    Result,
    Revoke,
    check_id,
    debounce_bucket,
    decode_result,
    encode_flow_start,
    encode_job,
    encode_revoke,
    key_for,
    results_bucket,
    revoked_bucket,
    unique_bucket,
    unique_kv_key,
)

__all__ = ["Client", "DEFAULT_SERVERS", "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_RESULT_TTL"]

DEFAULT_SERVERS = "nats://127.0.0.1:4222"
#: Seconds to keep trying the server on connect, as ``qw enqueue``.
DEFAULT_CONNECT_TIMEOUT = 5.0
#: The revoked bucket's TTL when this client is the first to create it: qw's default result TTL.
DEFAULT_RESULT_TTL = 86_400
#: Publishes in flight at most in ``enqueue_many``.
MAX_IN_FLIGHT = 256

JobSpec = Union[Job, "tuple[Any, ...]", str]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(e: BaseException) -> str:
    return str(e) or type(e).__name__


class Client:
    """A connection to one qw stream for producers. Make one with ``await Client.connect(...)``."""

    def __init__(self, nc: NATS, stream: str) -> None:
        self.nc = nc
        self.stream = stream
        self.js: JetStreamContext = nc.jetstream()
        self._results: Optional[KeyValue] = None
        self._revoked: Optional[KeyValue] = None
        self._closed = False
        # What the stream takes (server-held delays, atomic batches): read once, at the first job that needs it.
        self._caps = StreamCapsProbe(lambda: self.js.stream_info(self.stream), self._server_version)

    @classmethod
    async def connect(
        cls,
        servers: Union[str, Sequence[str]] = DEFAULT_SERVERS,
        *,
        stream: str,
        name: str = "qw client",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        **options: Any,
    ) -> "Client":
        """Connect to NATS and check it has JetStream.

        ``servers`` is a URL, a comma-separated list or a list; ``stream`` the work
        stream, as the worker's ``--stream``. Other keyword options (``user``,
        ``password``, ``token``, ``user_credentials``, ``tls``, ...) go to ``nats.connect``.
        """
        if not isinstance(stream, str) or stream == "" or any(c in stream for c in " .*>\t\r\n"):
            raise errors.InvalidJobError(
                f'Cannot connect client as \'stream\' must be a name without whitespace, ".", "*" or ">": current value is "{stream}"'
            )
        urls = [s.strip() for s in (servers.split(",") if isinstance(servers, str) else servers) if s.strip()]
        urls = urls or [DEFAULT_SERVERS]
        where = ",".join(urls)
        options.setdefault("connect_timeout", min(2.0, connect_timeout))
        options.setdefault("max_reconnect_attempts", -1)
        try:
            nc = await asyncio.wait_for(nats.connect(servers=urls, name=name, **options), timeout=connect_timeout)
        except (asyncio.TimeoutError, nats.errors.NoServersError, OSError) as e:
            detail = "no server answered" if isinstance(e, asyncio.TimeoutError) else _text(e)
            raise errors.ConnectError(f"Cannot connect to '{where}' within {connect_timeout:g} s: {detail}") from None
        client = cls(nc, stream)
        try:
            await client.js.account_info()
        except Exception as e:
            await nc.close()
            raise errors.ConnectError(f"Cannot use JetStream on '{where}': {_text(e)} (start nats-server with -js)") from None
        return client

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Drain and close the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.nc.drain()
        except Exception:
            await self.nc.close()

    # -- enqueue -----------------------------------------------------------------

    async def enqueue(
        self,
        task: str,
        *args: Any,
        id: Optional[str] = None,
        countdown: Optional[float] = None,
        eta: Optional[datetime] = None,
        headers: Optional[Mapping[str, str]] = None,
        expires: Union[float, datetime, None] = None,
        unique: Optional[str] = None,
        debounce: Optional[float] = None,
        priority: Optional[int] = None,
        concurrency_key: Optional[str] = None,
    ) -> str:
        """Enqueue ``task(*args)``; returns its task id once the server stored it.

        ``id`` is also the dedup id: the same id within the stream's 2-minute
        duplicate window is stored once (default: a random UUID). ``countdown``
        (seconds) or ``eta`` delay it; ``headers`` are extra NATS headers.
        ``expires`` (seconds from now, or a datetime) is Celery's: a job not
        started by then never runs and is stored REVOKED with reason ``expired``.
        ``unique`` (a key): while a job of ``task`` with it waits or runs, nothing is added and the first job's id
        is returned. ``debounce`` (seconds, with ``unique``): of a burst with the key only the last runs, that long
        after it (README "Unique jobs and debounce").
        ``priority`` (0 lowest to 9, default 5): higher runs first. ``concurrency_key``: at most the task's limit of
        jobs with this key run at once across every worker, keys taking turns (README "Per-key concurrency").
        """
        self._open()
        job_id = id if id is not None else str(uuid.uuid4())
        msg = await self._encode(
            task, args, job_id, _now_ms(), countdown, eta, headers, expires, unique, debounce, priority, concurrency_key,
        )
        with sending(f"{self.stream}.{task}", job_id, msg.headers):
            if unique is None:
                await self._publish(msg)
            elif debounce is not None:
                if msg.subject.startswith(f"{self.stream}._delayed."):
                    kv = await open_key_bucket(self.js, debounce_bucket(self.stream), DEFAULT_RESULT_TTL)
                    await kv.put(unique_kv_key(task, unique), job_id.encode())
                await self._publish(msg)
            else:
                kv = await open_key_bucket(self.js, unique_bucket(self.stream), DEFAULT_RESULT_TTL)

                async def state(id: str) -> Optional[str]:
                    return (await self.result(id)).state

                job_id, _ = await publish_unique(kv, task, unique, job_id, state, lambda: self._publish(msg))
        return job_id

    async def enqueue_many(self, jobs: Iterable[JobSpec]) -> list[str]:
        """Enqueue many jobs; returns their ids in order.

        Each job is a ``Job``, a ``(task, args)`` tuple or a task name. Every job
        is checked before the first is sent. On nats-server 2.12+ with a stream
        that has ``allow_atomic`` they go in atomic batches of up to 1,000, each
        stored whole or not at all (several batches are not one); elsewhere one
        by one, pipelined, where a failure can leave some stored.
        """
        self._open()
        now = _now_ms()
        prepared: list[tuple[str, Message]] = []
        for spec in jobs:
            j = _job_of(spec)
            job_id = j.id if j.id is not None else str(uuid.uuid4())
            m = await self._encode(
                j.task, j.args, job_id, now, j.countdown, j.eta, j.headers, j.expires, priority=j.priority,
                concurrency_key=j.concurrency_key,
            )
            prepared.append((job_id, m))
        sem = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(m: Message) -> None:
            async with sem:
                await self._publish(m)

        async def one_by_one(ms: Sequence[Message]) -> None:
            await asyncio.gather(*(one(m) for m in ms))

        messages = [m for _, m in prepared]
        atomic = len(messages) > 1 and await self._allows_atomic()
        try:
            with sending_many(self.stream, [m.headers for m in messages]):
                await publish_many(self.nc, self.js, messages, atomic=atomic, one_by_one=one_by_one)
        except (nats.errors.TimeoutError, nats.js.errors.APIError, nats.errors.ConnectionClosedError) as e:
            raise errors.PublishError(f"Cannot enqueue to stream '{self.stream}': {_text(e)}") from None
        return [i for i, _ in prepared]

    async def _encode(
        self,
        task: str,
        args: Sequence[Any],
        job_id: str,
        now_ms: int,
        countdown: Optional[float],
        eta: Optional[datetime],
        headers: Optional[Mapping[str, str]],
        expires: Union[float, datetime, None] = None,
        unique: Optional[str] = None,
        debounce: Optional[float] = None,
        priority: Optional[int] = None,
        concurrency_key: Optional[str] = None,
    ) -> Message:
        """A job's message; a delayed one as a schedule the server holds when it does (checked after the job is)."""
        def encode(server_held: bool) -> Message:
            return encode_job(
                self.stream, task, args, id=job_id, now_ms=now_ms, countdown=countdown, eta=eta, headers=headers,
                expires=expires, server_held=server_held, unique=unique, debounce=debounce, priority=priority,
                concurrency_key=concurrency_key,
            )
        m = encode(False)
        if m.subject.startswith(f"{self.stream}._delayed.") and await self._holds_delays():
            m = encode(True)
        return m

    async def _holds_delays(self) -> bool:
        """Whether the server holds this stream's delayed jobs (see ``qwjobs.stream_caps``)."""
        caps = await self._caps()
        return caps is not None and caps.server_held

    async def _allows_atomic(self) -> bool:
        """A 2.12+ server and a stream with ``allow_atomic`` (an existing stream is used as it is)."""
        caps = await self._caps()
        if caps is None:
            await self._require_stream("enqueue to")
            return False
        return caps.atomic

    def _server_version(self) -> str:
        try:
            v = self.nc.connected_server_version
            return f"{v.major}.{v.minor}.{v.patch}"
        except Exception:
            return ""

    async def enqueue_flow(self, flow: Node, *, id: Optional[str] = None) -> str:
        """Start a workflow built with ``sig``, ``si``, ``chain``, ``group`` and ``chord``; returns its id.

        ``result(flow_id)`` gives the flow's own record; each step's is under ``<flow id>.<path>``.
        """
        self._open()
        flow_id = check_id("start flow", id if id is not None else str(uuid.uuid4()))
        msg = encode_flow_start(self.stream, flow_id, normalize(flow))
        with sending(msg.subject, flow_id, msg.headers):
            await self._publish(msg)
        return flow_id

    # -- results -----------------------------------------------------------------

    async def result(self, id: str) -> Result:
        """The current record of a job; state PENDING when there is none."""
        self._open()
        check_id("get result", id)
        kv = await self._results_kv("get result from")
        if kv is None:
            return Result(id=id, state="PENDING")
        try:
            e = await kv.get(key_for(id))
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return Result(id=id, state="PENDING")
        return decode_result(id, e.value)

    async def wait(self, id: str, timeout: Optional[float] = None) -> Result:
        """Wait for a job's final state (SUCCESS, FAILURE or REVOKED) by watching its key.

        A failed job returns too: check ``state``. Raises ``ResultTimeoutError``
        after ``timeout`` seconds (default: wait as long as it takes).
        """
        self._open()
        check_id("wait for result", id)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
            raise errors.InvalidJobError(f'Cannot wait for result as \'timeout\' must be a number >= 0: current value is "{timeout}"')
        deadline = None if timeout is None else time.monotonic() + timeout
        last = Result(id=id, state="PENDING")
        kv = await self._results_kv("get result from", deadline)
        if kv is not None:
            watcher = await kv.watch(key_for(id))
            try:
                while True:
                    self._open()
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    try:
                        e = await watcher.updates(timeout=60.0 if left is None else left)  # type: ignore[no-untyped-call]
                    except nats.errors.TimeoutError:
                        continue
                    if e is None or e.value is None or (e.operation not in (None, "PUT")):
                        continue
                    last = decode_result(id, e.value)
                    if last.ready:
                        return last
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
        raise errors.ResultTimeoutError(
            f"No final result for '{id}' within {timeout:g} s: current state is \"{last.state}\"", state=last.state
        )

    # -- revoke ------------------------------------------------------------------

    async def revoke(self, id: str, *, terminate: bool = False) -> Revoke:
        """Revoke a job: one that has not started never runs; with ``terminate`` a running one is stopped.

        A job that already ended is left as it is: ``revoked`` is False and ``state`` says how it ended.
        """
        current = await self.result(id)
        if current.ready:
            return Revoke(False, current.state)
        await self._require_stream("revoke a job of")
        if self._revoked is None:
            bucket = revoked_bucket(self.stream)
            try:
                self._revoked = await self.js.key_value(bucket)
            except nats.js.errors.BucketNotFoundError:
                self._revoked = await self.js.create_key_value(bucket=bucket, ttl=DEFAULT_RESULT_TTL, history=1)
        at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await self._revoked.put(key_for(id), encode_revoke(id, terminate=terminate, at=at))
        return Revoke(True, current.state)

    # -- internals ---------------------------------------------------------------

    def _open(self) -> None:
        if self._closed:
            raise errors.ClientClosedError("Cannot use a closed qw client")

    async def _publish(self, m: Message) -> None:
        try:
            await self.js.publish(m.subject, m.body, headers=m.headers)
        except nats.errors.NoRespondersError:
            await self._require_stream("enqueue to")
            raise errors.StreamNotFoundError(
                f"Cannot enqueue to stream '{self.stream}' as subject '{m.subject}' is not one of its subjects"
            ) from None
        except nats.js.errors.NoStreamResponseError:
            await self._require_stream("enqueue to")
            raise errors.PublishError(f"Cannot enqueue to stream '{self.stream}': no response from the stream") from None
        except (nats.errors.TimeoutError, nats.js.errors.APIError, nats.errors.ConnectionClosedError) as e:
            raise errors.PublishError(f"Cannot enqueue to stream '{self.stream}': {_text(e)}") from None

    async def _require_stream(self, attempt: str) -> None:
        try:
            await self.js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            raise errors.StreamNotFoundError(
                f"Cannot {attempt} stream '{self.stream}': stream not found "
                f"(start a worker with --stream {self.stream} first, or run qw init)"
            ) from None

    async def _results_kv(self, attempt: str, deadline: Optional[float] = None) -> Optional[KeyValue]:
        """The results bucket; None while no worker created it yet (waits until ``deadline``, monotonic)."""
        if self._results is not None:
            return self._results
        checked = False
        delay = 0.1
        while True:
            try:
                self._results = await self.js.key_value(results_bucket(self.stream))
                return self._results
            except nats.js.errors.BucketNotFoundError:
                pass
            if not checked:
                await self._require_stream(attempt)
                checked = True
            now = time.monotonic()
            if deadline is not None and now + delay > deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)
            self._open()


def _job_of(spec: JobSpec) -> Job:
    if isinstance(spec, Job):
        return spec
    if isinstance(spec, str):
        return Job(spec)
    if isinstance(spec, tuple) and len(spec) in (1, 2) and isinstance(spec[0], str):
        return Job(spec[0], tuple(spec[1]) if len(spec) == 2 else ())
    raise errors.InvalidJobError(
        f'Cannot enqueue job as each job must be a Job, a (task, args) tuple or a task name: current value is "{spec!r}"'
    )
