"""Bad input is rejected before anything is sent, with one clear line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qwjobs import InvalidFlowError, InvalidJobError, chain, group, sig
from qwjobs.flows import normalize
from qwjobs.wire import encode_job

NOW = 1_767_225_600_000


def message_of(f) -> str:
    with pytest.raises(InvalidJobError) as e:
        f()
    text = str(e.value)
    assert "\n" not in text and not text.endswith(".")
    return text


def test_bad_task_name() -> None:
    assert message_of(lambda: encode_job("jobs", "a.b", [], id="x", now_ms=NOW)) == (
        'Cannot enqueue job as \'task\' must be a name without whitespace, ".", "*", ">" or a leading "_": current value is "a.b"'
    )


def test_bad_id_countdown_eta_headers() -> None:
    assert "'id' must be a non-empty line" in message_of(lambda: encode_job("jobs", "add", [], id=" ", now_ms=NOW))
    assert message_of(lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, countdown=-1)) == (
        "Cannot enqueue job as 'countdown' must be >= 0: current value is \"-1\""
    )
    assert "'countdown' must be a number >= 0" in message_of(lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, countdown="5"))
    both = lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, countdown=1, eta=datetime.now(timezone.utc))
    assert message_of(both) == "Cannot enqueue job with both 'countdown' and 'eta'"
    assert "is reserved" in message_of(lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, headers={"Qw-Id": "y"}))
    assert "a printable name" in message_of(lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, headers={"A": "b\nc"}))


def test_bad_expires() -> None:
    assert message_of(lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, expires=0)) == (
        "Cannot enqueue job as 'expires' must be > 0 seconds: current value is \"0\""
    )
    assert "'expires' must be seconds (a number > 0) or a datetime" in message_of(
        lambda: encode_job("jobs", "add", [], id="x", now_ms=NOW, expires="60")
    )


def test_args_not_json() -> None:
    assert "'args' must be JSON-serializable" in message_of(lambda: encode_job("jobs", "add", [object()], id="x", now_ms=NOW))
    assert "'args' must be JSON-serializable" in message_of(lambda: encode_job("jobs", "add", [float("nan")], id="x", now_ms=NOW))


def test_bad_flow_names_the_step() -> None:
    with pytest.raises(InvalidFlowError) as e:
        normalize(chain(sig("add", 1), group(sig("ok"), sig("_bad"))))
    assert str(e.value).startswith("Cannot start flow as step '.1.1' must be a task name")
    with pytest.raises(InvalidFlowError):
        normalize("add")
