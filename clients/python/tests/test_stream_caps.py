"""What the client reads of the stream's flags, and how often it asks: pure, no server."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

import nats.js.errors
import pytest

from qwjobs.stream_caps import NEITHER, RETRY_AFTER, StreamCaps, StreamCapsProbe, caps_of


@pytest.mark.parametrize(
    "version,schedules,atomic,want",
    [
        ("2.9.10", True, True, NEITHER),
        ("2.11.4", True, True, NEITHER),
        ("2.12.0", True, None, StreamCaps(server_held=True, atomic=False)),
        ("2.15.3", None, True, StreamCaps(server_held=False, atomic=True)),
        ("2.15.3", True, True, StreamCaps(server_held=True, atomic=True)),
        ("", True, True, NEITHER),
    ],
)
def test_caps_of(version: str, schedules: Optional[bool], atomic: Optional[bool], want: StreamCaps) -> None:
    config = SimpleNamespace(allow_msg_schedules=schedules, allow_atomic=atomic)
    assert caps_of(version, config) == want


class FakeStream:
    """A stream_info that counts its calls and answers what it is told."""

    def __init__(self) -> None:
        self.calls = 0
        self.answer: Any = SimpleNamespace(config=SimpleNamespace(allow_msg_schedules=True, allow_atomic=True))

    async def info(self) -> Any:
        self.calls += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_a_definite_answer_is_asked_once() -> None:
    s = FakeStream()
    probe = StreamCapsProbe(s.info, lambda: "2.15.3")
    assert await probe() == StreamCaps(server_held=True, atomic=True)
    assert await probe() == StreamCaps(server_held=True, atomic=True)
    assert s.calls == 1


async def test_an_old_server_is_never_asked() -> None:
    s = FakeStream()
    probe = StreamCapsProbe(s.info, lambda: "2.9.10")
    assert await probe() == NEITHER
    assert s.calls == 0


async def test_a_missing_stream_is_asked_again_at_the_next_call() -> None:
    s = FakeStream()
    s.answer = nats.js.errors.NotFoundError()
    probe = StreamCapsProbe(s.info, lambda: "2.15.3")
    assert await probe() is None
    s.answer = SimpleNamespace(config=SimpleNamespace(allow_msg_schedules=False, allow_atomic=True))
    assert await probe() == StreamCaps(server_held=False, atomic=True)
    assert s.calls == 2


async def test_a_stream_it_cannot_read_means_neither_until_the_retry_time() -> None:
    s = FakeStream()
    s.answer = nats.js.errors.APIError()
    clock = Clock()
    probe = StreamCapsProbe(s.info, lambda: "2.15.3", clock)
    assert await probe() == NEITHER
    clock.t += RETRY_AFTER - 1
    assert await probe() == NEITHER
    assert s.calls == 1
    s.answer = SimpleNamespace(config=SimpleNamespace(allow_msg_schedules=True, allow_atomic=False))
    clock.t += 2
    assert await probe() == StreamCaps(server_held=True, atomic=False)
    assert s.calls == 2
