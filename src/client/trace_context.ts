/**
 * Trace context on job messages (README "Traces"): W3C `traceparent` and
 * `tracestate` headers, written and read through `@opentelemetry/api` only.
 * With no OpenTelemetry SDK registered every call here is the API's no-op.
 *
 * Span names and attributes follow OpenTelemetry's messaging semantic
 * conventions: `send <subject>` (kind PRODUCER) for an enqueue,
 * `process <subject>` (kind CONSUMER) for a run (worker/settle/run_spans.ts).
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { Match, type MsgHdrs } from "@nats-io/nats-core";
import { VERSION } from "../core/version.ts";

/** The instrumentation scope of every span qw makes. */
export const TRACER_NAME = "qw";

/** The headers that carry a trace context (W3C Trace Context). */
export const TRACE_HEADERS = ["traceparent", "tracestate"] as const;

/** `messaging.system` of every span: JetStream is NATS. */
export const MESSAGING_SYSTEM = "nats";

/** The attributes of the messaging conventions qw sets on a span. Pure. */
export function messagingAttributes(op: "send" | "process", subject: string, messageId: string): Attributes {
  return {
    "messaging.system": MESSAGING_SYSTEM,
    "messaging.destination.name": subject,
    "messaging.operation.type": op,
    "messaging.operation.name": op,
    "messaging.message.id": messageId,
  };
}

/** Write the trace context of `ctx` into `headers` (a plain object of header names to values). */
export function injectContext(ctx: Context, headers: Record<string, string>): void {
  propagation.inject(ctx, headers);
}

/** Headers that carry the context of `span` (the run that publishes a retry or a flow's next step). */
export function spanHeaders(span: Span): Record<string, string> {
  const out: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), out);
  return out;
}

/** A header by its exact name, else in any case (`Traceparent` from a client that capitalizes names). */
function headerOf(h: MsgHdrs, key: string): string {
  return h.get(key) || h.get(key, Match.IgnoreCase);
}

const hdrsGetter = {
  get: (h: MsgHdrs | undefined, key: string): string | undefined => {
    if (!h) return undefined;
    const v = headerOf(h, key);
    return v === "" ? undefined : v;
  },
  keys: (h: MsgHdrs | undefined): string[] => (h ? h.keys() : []),
};

/** The trace context a message carries (its `traceparent`), or the root context when it carries none. */
export function extractContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, hdrsGetter);
}

/** Only the trace headers of a message, to pass on unchanged (a flow's first steps carry their start's). */
export function traceHeadersOf(headers: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const k of TRACE_HEADERS) {
    const v = headerOf(headers, k);
    if (v !== "") out[k] = v;
  }
  return out;
}

/** The tracer of the provider registered now: an application (or a test) may replace its SDK, which a tracer kept
 * from before would not follow (the API's proxy of a disabled provider keeps its old delegate). */
let cached: { provider: TracerProvider; tracer: Tracer } | null = null;
function currentTracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (cached?.provider !== provider) cached = { provider, tracer: provider.getTracer(TRACER_NAME, VERSION) };
  return cached.tracer;
}
/** What the API's tracer provider delegates to while no SDK is registered. */
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Whether an SDK registered a tracer provider: without one every span is a no-op, so none is made. */
function tracerRegistered(): boolean {
  const p = trace.getTracerProvider();
  return !(p instanceof ProxyTracerProvider) || p.getDelegate() !== NO_PROVIDER;
}

/**
 * Start the `send` span of one publish as a child of the active context, and
 * write its context into `headers` (unless the caller set `traceparent`
 * already). End it with {@linkcode endSend}. With no SDK registered, the span
 * is the API's non-recording one and nothing is written.
 */
export function startSend(subject: string, messageId: string, headers: Record<string, string>): Span {
  const active = context.active();
  if (!tracerRegistered()) {
    // No SDK: no span to make, and the API's no-op propagator writes nothing; a registered one still may.
    if (!("traceparent" in headers)) propagation.inject(active, headers);
    return NO_SPAN;
  }
  const span = currentTracer().startSpan(`send ${subject}`, {
    kind: SpanKind.PRODUCER,
    attributes: messagingAttributes("send", subject, messageId),
  }, active);
  if (!("traceparent" in headers)) propagation.inject(trace.setSpan(active, span), headers);
  return span;
}

/**
 * Publish `msg` inside a `send` span (see {@linkcode startSend}), its context written into a copy of
 * `msg.headers` (the caller's object may be reused for the next job). The span starts before the
 * first await, while the caller's trace context is the active one.
 */
export async function sendTraced<M extends { id: string; headers?: Record<string, string> }, R>(
  subject: string,
  msg: M,
  publish: (msg: M) => Promise<R>,
): Promise<R> {
  const headers = { ...msg.headers };
  msg.headers = headers;
  const span = startSend(subject, msg.id, headers);
  try {
    const r = await publish(msg);
    endSend(span);
    return r;
  } catch (e) {
    endSend(span, e);
    throw e;
  }
}

/**
 * Start one `send <stream>` span for many jobs published together (`enqueueMany()`), and write its
 * context into a copy of every job's headers. End it with {@linkcode endSend}. Call it before the first
 * await, while the caller's trace context is the active one.
 */
export function startSendMany(stream: string, jobs: { headers?: Record<string, string> }[]): Span {
  const active = context.active();
  if (!tracerRegistered()) {
    if (propagation.fields().length > 0) for (const j of jobs) propagation.inject(active, j.headers = { ...j.headers });
    return NO_SPAN;
  }
  const attributes = messagingAttributes("send", stream, "");
  delete attributes["messaging.message.id"];
  attributes["messaging.batch.message_count"] = jobs.length;
  const span = currentTracer().startSpan(`send ${stream}`, { kind: SpanKind.PRODUCER, attributes }, active);
  const ctx = trace.setSpan(active, span);
  for (const j of jobs) {
    const headers = { ...j.headers };
    j.headers = headers;
    if (!("traceparent" in headers)) propagation.inject(ctx, headers);
  }
  return span;
}

/** End a `send` span; with the publish's error when it failed. */
export function endSend(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const e = error instanceof Error ? error : new Error(String(error));
    span.recordException(e);
    span.setAttribute("error.type", e.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  }
  span.end();
}
