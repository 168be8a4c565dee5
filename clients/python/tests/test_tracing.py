"""Trace context on enqueue: the send span and its traceparent header, and a chain from Python
traced through a real dist/qw into a test OTLP/HTTP receiver as one trace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Iterator, Optional

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import qwjobs
from qwjobs import chain, sig, tracing
from qwjobs.sync import Client as SyncClient

from .conftest import Qw, qw_init

# Flags: sampled (01), and the SDK may add the random-trace-id bit of Trace Context level 2 (03).
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]$")
CONSUMER = 5

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
trace.set_tracer_provider(_provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _exporter.clear()
    yield _exporter


class _FakeJs:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        self.published.append((subject, body, dict(headers)))


class _FakeNc:
    def __init__(self) -> None:
        self.js = _FakeJs()

    def jetstream(self) -> _FakeJs:
        return self.js

    # A server before 2.12: enqueue_many publishes one by one, no atomic batch.
    connected_server_version = type("Version", (), {"major": 2, "minor": 10, "patch": 0})()

    async def drain(self) -> None:
        pass


def _client() -> tuple[qwjobs.Client, _FakeJs]:
    nc = _FakeNc()
    return qwjobs.Client(nc, "jobs"), nc.js  # type: ignore[arg-type]


def test_the_client_finds_opentelemetry() -> None:
    assert tracing.ENABLED


async def test_enqueue_writes_the_send_span_as_traceparent_child_of_the_active_span(spans: InMemorySpanExporter) -> None:
    client, js = _client()
    with trace.get_tracer("test").start_as_current_span("checkout") as parent:
        await client.enqueue("add", 2, 3, id="order-42", headers={"X-Tenant": "7"})
    subject, _, headers = js.published[0]
    assert subject == "jobs.add" and headers["X-Tenant"] == "7" and headers["Qw-Id"] == "order-42"
    m = TRACEPARENT.match(headers["traceparent"])
    assert m is not None
    [send] = [s for s in spans.get_finished_spans() if s.name == "send jobs.add"]
    assert m.group(1) == format(parent.get_span_context().trace_id, "032x")
    assert m.group(2) == format(send.context.span_id, "016x")
    assert send.parent is not None and send.parent.span_id == parent.get_span_context().span_id
    assert send.kind == trace.SpanKind.PRODUCER
    assert dict(send.attributes or {}) == tracing.messaging_attributes("jobs.add", "order-42")


async def test_enqueue_flow_and_enqueue_many_carry_traceparent_too(spans: InMemorySpanExporter) -> None:
    client, js = _client()
    with trace.get_tracer("test").start_as_current_span("batch"):
        await client.enqueue_flow(chain(sig("add", 1, 1), sig("add", 2)), id="f")
        await client.enqueue_many([("add", (1, 2)), ("square", (3,))])
    assert [p[0] for p in js.published] == ["jobs._flow", "jobs.add", "jobs.square"]
    assert all(TRACEPARENT.match(p[2]["traceparent"]) for p in js.published)
    names = [s.name for s in spans.get_finished_spans()]
    assert "send jobs._flow" in names and "send jobs" in names, names
    [batch] = [s for s in spans.get_finished_spans() if s.name == "send jobs"]
    assert (batch.attributes or {})["messaging.batch.message_count"] == 2
    # Both jobs of the batch carry the batch's span.
    assert {p[2]["traceparent"][36:52] for p in js.published[1:]} == {format(batch.context.span_id, "016x")}


async def test_a_traceparent_the_caller_set_is_kept(spans: InMemorySpanExporter) -> None:
    client, js = _client()
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with trace.get_tracer("test").start_as_current_span("x"):
        await client.enqueue("add", 1, 1, headers={"traceparent": mine})
    assert js.published[0][2]["traceparent"] == mine


async def test_a_failed_publish_marks_the_send_span_failed(spans: InMemorySpanExporter) -> None:
    client, js = _client()

    async def refuse(*_: Any, **__: Any) -> None:
        raise ConnectionError("no responders")

    js.publish = refuse  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await client.enqueue("add", 1, 1)
    [send] = spans.get_finished_spans()
    assert send.status.status_code == trace.StatusCode.ERROR
    assert (send.attributes or {})["error.type"] == "ConnectionError"


async def test_without_opentelemetry_nothing_is_written(monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter) -> None:
    monkeypatch.setattr(tracing, "trace", None)
    client, js = _client()
    with trace.get_tracer("test").start_as_current_span("x"):
        await client.enqueue("add", 1, 1)
    assert "traceparent" not in js.published[0][2]
    assert [s.name for s in spans.get_finished_spans()] == ["x"]


def test_the_sync_client_publishes_in_the_callers_trace(spans: InMemorySpanExporter) -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    inner, js = _client()
    client = SyncClient(inner, loop, thread)
    try:
        with trace.get_tracer("test").start_as_current_span("view") as parent:
            client.enqueue("add", 1, 2)
        m = TRACEPARENT.match(js.published[0][2]["traceparent"])
        assert m is not None and m.group(1) == format(parent.get_span_context().trace_id, "032x")
    finally:
        client.close()


class _Receiver:
    """A test receiver of OTLP/HTTP: keeps the spans of every JSON POST to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self._body())
                for rs in body.get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        spans.extend(ss.get("spans", []))
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def _body(self) -> bytes:
                if self.headers["Content-Length"] is not None:
                    return self.rfile.read(int(self.headers["Content-Length"]))
                out = b""  # Transfer-Encoding: chunked
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size + 2)[:size]
                    if size == 0:
                        return out
                    out += chunk

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


async def test_a_chain_of_three_from_python_is_one_trace_in_qw(nats_server, stream, spans: InMemorySpanExporter) -> None:
    receiver = _Receiver()
    qw_init(nats_server, stream)
    worker = Qw(nats_server, stream, "--otlp-endpoint", receiver.endpoint)
    try:
        async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
            with trace.get_tracer("test").start_as_current_span("report") as parent:
                flow_id = await client.enqueue_flow(chain(sig("add", 1, 1), sig("add", 2), sig("square")))
            assert (await client.wait(flow_id, timeout=30)).value == 16
    finally:
        worker.stop()  # exports what is left before it exits
        receiver.stop()
    trace_id = format(parent.get_span_context().trace_id, "032x")
    [send] = [s for s in spans.get_finished_spans() if s.name == f"send {stream}._flow"]
    runs = {
        next(a["value"]["stringValue"] for a in s["attributes"] if a["key"] == "qw.job.id"): s
        for s in receiver.spans
        if s["kind"] == CONSUMER
    }
    assert sorted(runs) == [f"{flow_id}.0", f"{flow_id}.1", f"{flow_id}.2"], worker.output()
    assert {s["traceId"] for s in runs.values()} == {trace_id}
    assert runs[f"{flow_id}.0"]["parentSpanId"] == format(send.context.span_id, "016x")
    assert runs[f"{flow_id}.1"]["parentSpanId"] == runs[f"{flow_id}.0"]["spanId"]
    assert runs[f"{flow_id}.2"]["parentSpanId"] == runs[f"{flow_id}.1"]["spanId"]
    assert runs[f"{flow_id}.2"]["name"] == f"process {stream}.square"


JAEGER = os.environ.get("JAEGER_BIN", "")


@pytest.mark.skipif(not JAEGER or not os.path.exists(JAEGER), reason="JAEGER_BIN is not set to a Jaeger binary (scripts/build_jaeger.sh builds one)")
async def test_a_chain_of_three_from_python_is_one_trace_in_jaeger(nats_server, stream, spans: InMemorySpanExporter) -> None:
    jaeger = subprocess.Popen([JAEGER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: _get("http://127.0.0.1:16686/api/services") is not None, "Jaeger did not answer on 16686")
        qw_init(nats_server, stream)
        worker = Qw(nats_server, stream, "--otlp-endpoint", "http://127.0.0.1:4318")
        try:
            async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
                with trace.get_tracer("test").start_as_current_span("report") as parent:
                    flow_id = await client.enqueue_flow(chain(sig("add", 1, 1), sig("add", 2), sig("square")))
                assert (await client.wait(flow_id, timeout=30)).value == 16
        finally:
            worker.stop()
        trace_id = format(parent.get_span_context().trace_id, "032x")
        found: list[dict[str, Any]] = []

        def three_runs() -> bool:
            body = _get(f"http://127.0.0.1:16686/api/traces/{trace_id}")
            found[:] = (body or {}).get("data", [{}])[0].get("spans", []) if body else []
            return len(found) >= 3

        _wait(three_runs, f"trace {trace_id} did not reach 3 spans in Jaeger")
        [send] = [s for s in spans.get_finished_spans() if s.name == f"send {stream}._flow"]
        job = {next(t["value"] for t in s["tags"] if t["key"] == "qw.job.id"): s for s in found}
        refs = {k: [r["spanID"] for r in s["references"]] for k, s in job.items()}
        # The Python producer's own span is not exported here: the first run refers to it by id.
        assert refs[f"{flow_id}.0"] == [format(send.context.span_id, "016x")]
        assert refs[f"{flow_id}.1"] == [job[f"{flow_id}.0"]["spanID"]]
        assert refs[f"{flow_id}.2"] == [job[f"{flow_id}.1"]["spanID"]]
    finally:
        jaeger.terminate()
        try:
            jaeger.wait(15)
        except subprocess.TimeoutExpired:
            jaeger.kill()
            jaeger.wait()


def _get(url: str) -> Optional[dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _wait(ok: Callable[[], bool], message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.2)
