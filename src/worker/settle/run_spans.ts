/**
 * One `process` span per run of a job (README "Traces"). It starts when a Web
 * Worker starts the job and ends when the job is settled (its outcome, its
 * error) or handed back. Its parent is the trace context the message carries
 * (`traceparent`), and it links to that context too, as the messaging
 * conventions ask of a consumer span. A retry or a flow's next step is
 * published carrying the run's own context, so it becomes a child of the run
 * that caused it.
 *
 * Built only when a tracer is given: without one the dispatcher holds null
 * and pays one comparison per job.
 *
 * @module
 */

import { type Attributes, type Link, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { Decision } from "../../core/job/ack_policy.ts";
import type { SerializedError } from "../../core/types.ts";
import { extractContext, messagingAttributes } from "../../client/trace_context.ts";
import type { Held } from "../intake/held.ts";

/** What a run is, as span attributes: the messaging conventions' and qw's own. Pure. */
export function runAttributes(
  h: { id: string; task: string; retries: number; runsBefore: number; deliveryCount: number; seq: number },
  subject: string,
): Attributes {
  const a = messagingAttributes("process", subject, h.id);
  a["qw.task"] = h.task;
  a["qw.job.id"] = h.id;
  a["qw.retries"] = h.retries;
  a["qw.run"] = h.runsBefore + 1;
  a["qw.delivery_count"] = h.deliveryCount;
  a["qw.stream_sequence"] = h.seq;
  return a;
}

/** The outcome of a run as it is named on its span: the event without `job.` (`succeeded`, `retry_scheduled`, ...). Pure. */
export function outcomeName(d: Pick<Decision, "event">): string {
  return d.event.slice(4);
}

/** The error a run ended with, when it is one to mark the span with (failed, rejected, retried after an error). Pure. */
export function runError(d: Pick<Decision, "error" | "event">): SerializedError | null {
  if (d.error === undefined) return null;
  return d.event === "job.failed" || d.event === "job.rejected" || d.event === "job.retry_scheduled" ? d.error : null;
}

/** Starts and ends the `process` spans of runs. */
export class RunSpans {
  #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** A Web Worker started the job: its run begins. */
  started(h: Held): void {
    if (h.span !== undefined) return;
    const parent = extractContext(h.msg.headers);
    const from = trace.getSpanContext(parent);
    const links: Link[] = from === undefined ? [] : [{ context: from }];
    const subject = h.msg.subject;
    h.span = this.#tracer.startSpan(`process ${subject}`, {
      kind: SpanKind.CONSUMER,
      attributes: runAttributes(h, subject),
      links,
    }, parent);
  }

  /** The outcome was decided: say it on the span (it ends once settled). */
  decided(h: Held, d: Decision): void {
    const span = h.span;
    if (span === undefined) return;
    span.setAttribute("qw.outcome", outcomeName(d));
    if (d.state !== null) span.setAttribute("qw.state", d.state);
    if (d.retry) span.setAttribute("qw.retry.countdown", d.retry.countdown);
    if (d.deadLetter !== undefined) span.setAttribute("qw.dead_letter", d.deadLetter);
    const error = runError(d);
    if (error === null) return;
    span.recordException({ name: error.name, message: error.message, stack: error.stack });
    span.setAttribute("error.type", error.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
  }

  /** The job was settled or handed back: its run ends. */
  ended(h: Held, handedBack?: string): void {
    const span = h.span;
    if (span === undefined) return;
    if (handedBack !== undefined) {
      span.setAttribute("qw.outcome", "handed_back");
      span.setAttribute("qw.hand_back.reason", handedBack);
    }
    span.end();
    h.span = undefined;
  }
}
