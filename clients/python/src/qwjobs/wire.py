"""qw's wire format: what a job, a workflow start and a revoke look like on NATS,
and how result records are read. Pure: no connection, no clock but the ``now_ms``
a caller passes. The exact bytes are pinned by the vectors in the repository's
``spec/`` folder.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence, Union

from .errors import InvalidJobError

__all__ = [
    "FINAL_STATES",
    "Message",
    "ErrorInfo",
    "Progress",
    "Result",
    "Revoke",
    "encode_job",
    "encode_flow_start",
    "encode_revoke",
    "decode_result",
    "dumps",
    "key_for",
    "results_bucket",
    "revoked_bucket",
    "check_id",
    "schedule_token",
    "server_holds",
]

#: The states a job ends in.
FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})

_ENQUEUE = "enqueue job"
_BAD_TASK = re.compile(r"[\s.*>\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
_PLAIN_KEY = re.compile(r"^[-/_a-zA-Z0-9]+(\.[-/_a-zA-Z0-9]+)*$")
_KEY_CHAR = re.compile(r"^[-/_a-zA-Z0-9]$")


@dataclass(frozen=True)
class Message:
    """A message to publish: subject, headers (``Nats-Msg-Id`` among them) and body."""

    subject: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ErrorInfo:
    """The error a failed job stored."""

    name: str
    message: str
    stack: Optional[str] = None
    cause: Optional["ErrorInfo"] = None
    data: Optional[dict[str, Any]] = None

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass(frozen=True)
class Progress:
    """What a running task reported last: a fraction in [0, 1] and any JSON value."""

    fraction: float
    meta: Any = None


@dataclass(frozen=True)
class Result:
    """A job's record: its state, and its value or error once it ended.

    ``state`` is one of PENDING (no record: not run yet, unknown, or expired),
    STARTED, PROGRESS, RETRY, SUCCESS, FAILURE or REVOKED.
    """

    id: str
    state: str
    value: Any = None
    error: Optional[ErrorInfo] = None
    task: Optional[str] = None
    retries: int = 0
    delivery_count: int = 0
    worker: Optional[str] = None
    #: When the record was written, in epoch milliseconds.
    finished_at_ms: Optional[int] = None
    #: Why the job was dead-lettered, when it was.
    dead_letter: Optional[str] = None
    progress: Optional[Progress] = None
    #: With state REVOKED, why when it was not a revoke: ``"expired"`` (not started by its expiry).
    reason: Optional[str] = None

    @property
    def ready(self) -> bool:
        """True once the job ended: SUCCESS, FAILURE or REVOKED."""
        return self.state in FINAL_STATES

    @property
    def successful(self) -> bool:
        return self.state == "SUCCESS"

    @property
    def finished_at(self) -> Optional[datetime]:
        """``finished_at_ms`` as an aware UTC datetime."""
        from datetime import timezone

        if self.finished_at_ms is None:
            return None
        return datetime.fromtimestamp(self.finished_at_ms / 1000, tz=timezone.utc)


@dataclass(frozen=True)
class Revoke:
    """What a revoke did: ``revoked`` is False when the job had already ended in ``state``."""

    revoked: bool
    state: str


def _show(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _bad(attempt: str, what: str, must: str, value: Any) -> InvalidJobError:
    return InvalidJobError(f"Cannot {attempt} as {what} must be {must}: current value is {_show(value)}")


def dumps(value: Any, attempt: str = _ENQUEUE, what: str = "'args'") -> bytes:
    """Compact JSON as JavaScript's JSON.stringify writes it: no spaces, UTF-8, no HTML escapes."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidJobError(f"Cannot {attempt} as {what} must be JSON-serializable: {e}") from None
    return text.encode("utf-8")


def check_id(attempt: str, id: Any) -> str:
    """Return ``id`` if it can be a task id: a non-empty line."""
    if not isinstance(id, str) or id.strip() == "" or "\r" in id or "\n" in id:
        raise _bad(attempt, "'id'", "a non-empty line", id)
    return id


def check_task(attempt: str, task: Any) -> str:
    if not isinstance(task, str) or task == "" or _BAD_TASK.search(task) or task.startswith("_"):
        raise _bad(attempt, "'task'", 'a name without whitespace, ".", "*", ">" or a leading "_"', task)
    return task


def _eta_ms(countdown: Optional[float], eta: Optional[datetime], now_ms: int) -> Optional[float]:
    if countdown is not None and eta is not None:
        raise InvalidJobError(f"Cannot {_ENQUEUE} with both 'countdown' and 'eta'")
    if countdown is not None:
        if isinstance(countdown, bool) or not isinstance(countdown, (int, float)) or math.isnan(countdown):
            raise _bad(_ENQUEUE, "'countdown'", "a number >= 0", countdown)
        if countdown < 0 or math.isinf(countdown):
            raise _bad(_ENQUEUE, "'countdown'", ">= 0", countdown)
        return now_ms + countdown * 1000 if countdown > 0 else None
    if eta is not None:
        if not isinstance(eta, datetime):
            raise _bad(_ENQUEUE, "'eta'", "a datetime", eta)
        # A naive datetime is local time, as datetime.timestamp() reads it.
        return eta.timestamp() * 1000
    return None


def _expires_ms(expires: Union[float, datetime, None], now_ms: int) -> Optional[int]:
    # Celery's expires: seconds from now, or a datetime; the wire carries the absolute time.
    if expires is None:
        return None
    if isinstance(expires, datetime):
        return _round(expires.timestamp() * 1000)
    if isinstance(expires, bool) or not isinstance(expires, (int, float)) or math.isnan(expires):
        raise _bad(_ENQUEUE, "'expires'", "seconds (a number > 0) or a datetime", expires)
    if expires <= 0 or math.isinf(expires):
        raise _bad(_ENQUEUE, "'expires'", "> 0 seconds", expires)
    return _round(now_ms + expires * 1000)


def _round(ms: float) -> int:
    # JavaScript's Math.round: halves go up (Python's round() goes to even).
    return int(math.floor(ms + 0.5))


def _check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers.items():
        if not isinstance(k, str):
            raise _bad(_ENQUEUE, "a header name", "a string", k)
        if k.lower().startswith("qw-") or k.lower() == "nats-msg-id":
            raise InvalidJobError(f"Cannot {_ENQUEUE} as header {_show(k)} is reserved: use another name")
        if not _HEADER_NAME.match(k) or not isinstance(v, str) or "\r" in v or "\n" in v:
            raise _bad(_ENQUEUE, f"header {_show(k)}", "a printable name with a one-line string value", v)
        out[k] = v
    return out


#: The priority of a job that names none: it goes on the plain ``<stream>.<task>``.
DEFAULT_PRIORITY = 5


def encode_job(
    stream: str,
    task: str,
    args: Sequence[Any],
    *,
    id: str,
    now_ms: int,
    countdown: Optional[float] = None,
    eta: Optional[datetime] = None,
    headers: Optional[Mapping[str, str]] = None,
    expires: Union[float, datetime, None] = None,
    server_held: bool = False,
    unique: Optional[str] = None,
    debounce: Optional[float] = None,
    priority: Optional[int] = None,
    concurrency_key: Optional[str] = None,
) -> Message:
    """The message of one job: on ``<stream>.<task>``, or while its eta is ahead ``<stream>._delayed.<task>``, or
    with ``server_held`` a schedule the server holds on ``<stream>._sched.<task>.<token>`` (nats-server 2.12+).

    ``expires`` (seconds from ``now_ms``, or a datetime) is Celery's: a job not
    started by then never runs, and is stored REVOKED with reason ``expired``.
    ``unique`` (a key) goes in ``Qw-Unique``; ``debounce`` (seconds, with ``unique``) in ``Qw-Debounce``, and the job
    is delayed that long, held by the server on a subject named for ``debounce:<key>`` (see README "Unique jobs and
    debounce"; claiming the key is the client's step, not the message's).

    ``priority`` (0 lowest to 9, default 5): a job of another priority goes on ``<stream>.p<N>.<task>``.
    ``concurrency_key`` goes in ``Qw-Concurrency-Key``, and a job due now waits on its key's subject,
    ``<stream>._key.<task>.<key in base64url>``, whatever its priority (see README "Per-key concurrency").
    """
    check_task(_ENQUEUE, task)
    if priority is None:
        priority = DEFAULT_PRIORITY
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise _bad(_ENQUEUE, "'priority'", "a whole number from 0 to 9", priority)
    ready = f"{stream}.{task}" if priority == DEFAULT_PRIORITY else f"{stream}.p{priority}.{task}"
    if not isinstance(args, (list, tuple)):
        raise _bad(_ENQUEUE, "'args'", "a list", args)
    check_id(_ENQUEUE, id)
    eta_ms = _eta_ms(countdown, eta, now_ms)
    expires_ms = _expires_ms(expires, now_ms)
    own = _check_headers(headers or {})
    schedule_name: Optional[str] = None
    if unique is not None:
        if not isinstance(unique, str) or unique == "" or len(unique) > MAX_UNIQUE_KEY or "\r" in unique or "\n" in unique:
            raise _bad(_ENQUEUE, "'unique'", f"a non-empty line of at most {MAX_UNIQUE_KEY} characters", unique)
        own["Qw-Unique"] = unique
    if concurrency_key is not None:
        if (not isinstance(concurrency_key, str) or concurrency_key == "" or len(concurrency_key) > MAX_CONCURRENCY_KEY
                or "\r" in concurrency_key or "\n" in concurrency_key):
            raise _bad(_ENQUEUE, "'concurrency_key'", f"a non-empty line of at most {MAX_CONCURRENCY_KEY} characters", concurrency_key)
        own["Qw-Concurrency-Key"] = concurrency_key
    if debounce is not None:
        if isinstance(debounce, bool) or not isinstance(debounce, (int, float)) or not debounce > 0 or math.isinf(debounce):
            raise _bad(_ENQUEUE, "'debounce'", "a number of seconds > 0", debounce)
        if unique is None:
            raise InvalidJobError(f"Cannot {_ENQUEUE} with 'debounce' but no 'unique': the key of the burst")
        if countdown is not None or eta is not None:
            raise InvalidJobError(f"Cannot {_ENQUEUE} with 'debounce' and 'countdown' or 'eta'")
        own["Qw-Debounce"] = _js_number(debounce)
        eta_ms = now_ms + debounce * 1000
        schedule_name = f"debounce:{unique}"
    body = dumps({"args": list(args)})
    delayed = eta_ms is not None and eta_ms > now_ms
    out = {"Nats-Msg-Id": f"{id}:eta" if delayed else id, **own, "Qw-Id": id}
    if expires_ms is not None:
        out["Qw-Expires"] = str(expires_ms)
    if eta_ms is not None and delayed:
        token = schedule_token(schedule_name or f"{id}:eta")
        if server_held and len(token) <= MAX_SCHEDULE_TOKEN:
            # Due at its eta, or at its expiry when that comes first: a worker then records it REVOKED (expired).
            due = _round(eta_ms) if expires_ms is None else min(_round(eta_ms), expires_ms)
            out["Nats-Schedule"] = at_schedule(due)
            out["Nats-Schedule-Target"] = ready
            return Message(f"{stream}._sched.{task}.{token}", out, body)
        out["Qw-Eta"] = str(_round(eta_ms))
        if priority != DEFAULT_PRIORITY:
            out["Qw-Priority"] = str(priority)
        return Message(f"{stream}._delayed.{task}", out, body)
    if concurrency_key is not None:
        return Message(key_subject(stream, task, concurrency_key), out, body)
    return Message(ready, out, body)


#: The longest unique key, in characters.
MAX_UNIQUE_KEY = 256

#: The longest concurrency key, in characters.
MAX_CONCURRENCY_KEY = 256


def key_subject(stream: str, task: str, key: str) -> str:
    """The subject jobs of ``task`` with concurrency key ``key`` wait on: ``<stream>._key.<task>.<key in base64url>``."""
    return f"{stream}._key.{task}.{schedule_token(key)}"

#: How long (ms) a claimed key never marked published holds before the next enqueue takes it over.
UNIQUE_PUBLISH_GRACE_MS = 30_000


def _js_number(n: float) -> str:
    """A number as JavaScript's ``String()`` writes it for the values a duration takes: ``5``, ``2.5``."""
    return str(int(n)) if float(n).is_integer() else repr(float(n))


def unique_bucket(stream: str) -> str:
    """The KV bucket of a stream's unique keys."""
    return f"qw_{stream}_unique"


def debounce_bucket(stream: str) -> str:
    """The KV bucket of the latest debounced job per key (where qw holds delays)."""
    return f"qw_{stream}_debounce"


def unique_kv_key(task: str, key: str) -> str:
    """The KV key of a task's unique key: ``<task>.<key in base64url>``, a task that is not ``[A-Za-z0-9-]+`` as
    ``_`` and its base64url."""
    t = task if re.fullmatch(r"[A-Za-z0-9-]+", task) else "_" + schedule_token(task)
    return f"{t}.{schedule_token(key)}"


def unique_holder(record: Optional[Mapping[str, Any]], result_state: Optional[str], now_ms: int) -> str:
    """``"held"`` while the record's job waits or runs, ``"stale"`` when the key may be taken over: not a record, a
    final result, or a claim never marked published within the grace."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not isinstance(record.get("at"), (int, float)):
        return "stale"
    if result_state in ("SUCCESS", "FAILURE", "REVOKED"):
        return "stale"
    if record.get("published") is not True and now_ms - record["at"] > UNIQUE_PUBLISH_GRACE_MS:
        return "stale"
    return "held"


#: The longest token (the dedup id in base64url) a schedule's subject may end with; a longer one waits the qw way.
MAX_SCHEDULE_TOKEN = 512


def schedule_token(dedup_id: str) -> str:
    """A dedup id in base64url without padding: the last token of its schedule's subject, one subject per job."""
    return base64.urlsafe_b64encode(dedup_id.encode("utf-8")).rstrip(b"=").decode("ascii")


def at_schedule(eta_ms: int) -> str:
    """The ``Nats-Schedule`` value of a job due at ``eta_ms``: RFC 3339 in UTC with milliseconds."""
    seconds, ms = divmod(eta_ms, 1000)
    return "@at " + datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"


def server_holds(version: str, allow_msg_schedules: Optional[bool]) -> bool:
    """Whether a server of ``version`` holds the delayed jobs of a stream with this flag (``@at`` came in 2.12)."""
    m = re.match(r"v?(\d+)\.(\d+)", version or "")
    if m is None or allow_msg_schedules is not True:
        return False
    major, minor = int(m.group(1)), int(m.group(2))
    return major > 2 or (major == 2 and minor >= 12)


def encode_flow_start(stream: str, flow_id: str, node: Mapping[str, Any]) -> Message:
    """The message that starts a workflow; ``node`` is already normalized (see ``qwjobs.flows``)."""
    check_id("start flow", flow_id)
    body = dumps({"id": flow_id, "flow": node}, "start flow", "the flow")
    return Message(f"{stream}._flow", {"Nats-Msg-Id": f"flow:{flow_id}"}, body)


def encode_revoke(id: str, *, terminate: bool, at: str) -> bytes:
    """A revoke as the bucket ``qw_<stream>_revoked`` stores it; ``at`` is an ISO 8601 time."""
    return dumps({"id": id, "terminate": terminate, "at": at}, "revoke job", "the revoke")


def results_bucket(stream: str) -> str:
    return f"qw_{stream}_results"


def revoked_bucket(stream: str) -> str:
    return f"qw_{stream}_revoked"


def _utf8(cp: int) -> bytes:
    # Generalized UTF-8, so a lone surrogate has bytes too (as qw's keyFor does).
    if cp < 0x80:
        return bytes([cp])
    if cp < 0x800:
        return bytes([0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)])
    if cp < 0x10000:
        return bytes([0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)])
    return bytes([0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)])


def key_for(id: str) -> str:
    """The KV key of a task id: itself when it is a valid key without "=", else escaped as ``=XX`` per byte."""
    if _PLAIN_KEY.match(id):
        return id
    out = []
    n = len(id)
    for i, c in enumerate(id):
        if c == ".":
            edge = i == 0 or i == n - 1 or id[i - 1] == "." or id[i + 1] == "."
            out.append("=2e" if edge else c)
        elif _KEY_CHAR.match(c):
            out.append(c)
        else:
            out.append("".join(f"={b:02x}" for b in _utf8(ord(c))))
    return "".join(out)


def _error(v: Any) -> Optional[ErrorInfo]:
    if not isinstance(v, dict):
        return None
    return ErrorInfo(
        name=str(v.get("name", "Error")),
        message=str(v.get("message", "")),
        stack=v.get("stack"),
        cause=_error(v.get("cause")),
        data=v.get("data"),
    )


def decode_result(id: str, value: Optional[bytes]) -> Result:
    """A stored record as a ``Result``; ``None`` (no key) is PENDING."""
    if value is None:
        return Result(id=id, state="PENDING")
    try:
        r = json.loads(value)
    except ValueError:
        raise InvalidJobError(f"Cannot read result of {_show(id)} as its record is not JSON") from None
    p = r.get("progress")
    return Result(
        id=r.get("id", id),
        state=r.get("state", "PENDING"),
        value=r.get("result"),
        error=_error(r.get("error")),
        task=r.get("task"),
        retries=r.get("retries", 0),
        delivery_count=r.get("deliveryCount", 0),
        worker=r.get("worker"),
        finished_at_ms=r.get("finishedAt"),
        dead_letter=r.get("deadLetter"),
        progress=Progress(p.get("fraction", 0), p.get("meta")) if isinstance(p, dict) else None,
        reason=r.get("reason"),
    )


@dataclass(frozen=True)
class Job:
    """One job for ``Client.enqueue_many``."""

    task: str
    args: Sequence[Any] = ()
    id: Optional[str] = None
    countdown: Optional[float] = None
    eta: Optional[datetime] = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds from enqueue, or a datetime, after which the job never starts.
    expires: Union[float, datetime, None] = None
    #: 0 (lowest) to 9; None is the default, 5.
    priority: Optional[int] = None
    #: The job's concurrency key (README "Per-key concurrency").
    concurrency_key: Optional[str] = None
