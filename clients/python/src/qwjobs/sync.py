"""A blocking client for code without an event loop (Django views, Flask handlers, scripts).

    from qwjobs.sync import Client

    with Client.connect("nats://127.0.0.1:4222", stream="jobs") as client:
        id = client.enqueue("add", 2, 3)
        print(client.wait(id, timeout=30).value)

It runs the asyncio client on an event loop in a background thread of its own,
so one instance may be shared by the threads of a web server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from datetime import datetime
from typing import Any, Coroutine, Iterable, Mapping, Optional, Sequence, TypeVar, Union

from . import client as aio
from .flows import Node
from .wire import Result, Revoke

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """The blocking twin of ``qwjobs.Client``: the same methods, without ``await``."""

    def __init__(self, inner: aio.Client, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self._inner = inner
        self._loop = loop
        self._thread = thread
        self.stream = inner.stream

    @classmethod
    def connect(
        cls,
        servers: Union[str, Sequence[str]] = aio.DEFAULT_SERVERS,
        *,
        stream: str,
        **options: Any,
    ) -> "Client":
        """Connect; the keyword options are those of ``qwjobs.Client.connect``."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="qwjobs", daemon=True)
        thread.start()
        try:
            inner = asyncio.run_coroutine_threadsafe(aio.Client.connect(servers, stream=stream, **options), loop).result()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            raise
        return cls(inner, loop, thread)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        # The coroutine runs in the caller's context (its active trace span, say), not the loop thread's.
        caller = contextvars.copy_context()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = asyncio.ensure_future(coro)

            def finish(t: asyncio.Future[T]) -> None:
                if t.cancelled():
                    done.cancel()
                elif t.exception() is not None:
                    done.set_exception(t.exception())
                else:
                    done.set_result(t.result())

            task.add_done_callback(finish)

        self._loop.call_soon_threadsafe(start, context=caller)
        return done.result()

    def enqueue(
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
        return self._run(self._inner.enqueue(
            task, *args, id=id, countdown=countdown, eta=eta, headers=headers, expires=expires, unique=unique, debounce=debounce, priority=priority,
            concurrency_key=concurrency_key,
        ))

    def enqueue_many(self, jobs: Iterable[aio.JobSpec]) -> list[str]:
        return self._run(self._inner.enqueue_many(list(jobs)))

    def enqueue_flow(self, flow: Node, *, id: Optional[str] = None) -> str:
        return self._run(self._inner.enqueue_flow(flow, id=id))

    def result(self, id: str) -> Result:
        return self._run(self._inner.result(id))

    def wait(self, id: str, timeout: Optional[float] = None) -> Result:
        return self._run(self._inner.wait(id, timeout))

    def revoke(self, id: str, *, terminate: bool = False) -> Revoke:
        return self._run(self._inner.revoke(id, terminate=terminate))

    def close(self) -> None:
        """Close the connection and stop the background loop. Idempotent."""
        if self._loop.is_closed():
            return
        try:
            self._run(self._inner.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
