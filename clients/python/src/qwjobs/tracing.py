"""Trace context on the jobs this client publishes, when ``opentelemetry-api`` is installed.

Each publish is a ``send <subject>`` span (kind PRODUCER, OpenTelemetry's messaging
conventions), child of the active span, and its context goes into the message as
W3C ``traceparent`` / ``tracestate`` headers; qw's runs of the job continue that trace.
Without the package (``pip install 'qwjobs[otel]'`` adds it) nothing is done, and with
it but no SDK configured the API's no-op tracer and propagator write nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, MutableMapping, Sequence

try:
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - exercised where the extra is not installed
    trace = None  # type: ignore[assignment]

__all__ = ["ENABLED", "MESSAGING_SYSTEM", "messaging_attributes", "sending", "sending_many"]

#: Whether ``opentelemetry-api`` is importable.
ENABLED = trace is not None

#: ``messaging.system`` of every span: JetStream is NATS.
MESSAGING_SYSTEM = "nats"

_VERSION = "0.1.0"


def messaging_attributes(subject: str, message_id: str) -> dict[str, str]:
    """The messaging conventions' attributes of a ``send`` span."""
    return {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.destination.name": subject,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": message_id,
    }


@contextmanager
def sending(subject: str, message_id: str, headers: MutableMapping[str, str]) -> Iterator[None]:
    """Around one publish: a ``send`` span whose context is written into ``headers``
    (unless they carry a ``traceparent`` already); an error of the publish marks it failed."""
    if trace is None:
        yield
        return
    tracer = trace.get_tracer("qwjobs", _VERSION)
    with tracer.start_as_current_span(
        f"send {subject}",
        kind=SpanKind.PRODUCER,
        attributes=messaging_attributes(subject, message_id),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if "traceparent" not in headers:
            propagate.inject(headers)
        try:
            yield
        except BaseException as e:
            _failed(span, e)
            raise


@contextmanager
def sending_many(stream: str, headers: Sequence[MutableMapping[str, str]]) -> Iterator[None]:
    """Around the publish of many jobs (``enqueue_many``, one atomic batch or many publishes): one
    ``send <stream>`` span, with ``messaging.batch.message_count``, whose context every job carries."""
    if trace is None:
        yield
        return
    attributes: dict[str, Any] = {**messaging_attributes(stream, ""), "messaging.batch.message_count": len(headers)}
    del attributes["messaging.message.id"]
    with trace.get_tracer("qwjobs", _VERSION).start_as_current_span(
        f"send {stream}", kind=SpanKind.PRODUCER, attributes=attributes, record_exception=False, set_status_on_exception=False,
    ) as span:
        for h in headers:
            if "traceparent" not in h:
                propagate.inject(h)
        try:
            yield
        except BaseException as e:
            _failed(span, e)
            raise


def _failed(span: Any, e: BaseException) -> None:
    span.record_exception(e)
    span.set_attribute("error.type", type(e).__name__)
    span.set_status(Status(StatusCode.ERROR, str(e) or type(e).__name__))
