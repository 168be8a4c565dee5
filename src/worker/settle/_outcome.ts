/**
 * What the dispatcher reports about a settled job: its event and its result
 * record. Pure; built field by field (no spreads), as this runs for every job.
 *
 * @module
 */

import type { Decision } from "../../core/job/ack_policy.ts";
import type { JobFields, QwEvent } from "../../core/events.ts";
import type { ResultRecord } from "../../client/buckets/result_store.ts";
import type { SerializedError, TaskState } from "../../core/types.ts";
import type { Span } from "@opentelemetry/api";

/** A job and, when its run is traced, the run's span. */
type Traced = JobFields & { span?: Span };

/** Add the ids of the run's span to a job event, so its log line names its trace. */
function traced<E extends QwEvent>(e: E, span: Span | undefined): E {
  if (span === undefined) return e;
  const c = span.spanContext();
  (e as JobFields).traceId = c.traceId;
  (e as JobFields).spanId = c.spanId;
  return e;
}

/** The event of a decision applied to a job, with its run's trace when traced. Pure. */
export function outcomeEvent(h: Traced, d: Decision, ms: number): QwEvent {
  return traced(untracedOutcome(h, d, ms), h.span);
}

/** The event a job emits when a Web Worker starts it. Pure. */
export function startedEvent(h: Traced): QwEvent {
  const { id, task, retries, deliveryCount, seq } = h;
  return traced({ type: "job.started", id, task, retries, deliveryCount, seq }, h.span);
}

function untracedOutcome(h: JobFields, d: Decision, ms: number): QwEvent {
  const { id, task, retries, deliveryCount, seq } = h;
  switch (d.event) {
    case "job.succeeded":
      return { type: "job.succeeded", ms, id, task, retries, deliveryCount, seq };
    case "job.failed":
      return { type: "job.failed", ms, error: d.error!, id, task, retries, deliveryCount, seq };
    case "job.retry_scheduled":
      return { type: "job.retry_scheduled", countdown: d.retry!.countdown, error: d.error, id, task, retries, deliveryCount, seq };
    case "job.requeued":
      return { type: "job.requeued", note: d.note, id, task, retries, deliveryCount, seq };
    case "job.rejected":
      return { type: "job.rejected", reason: d.deadLetter ?? "", error: d.error, id, task, retries, deliveryCount, seq };
    case "job.ignored":
      return { type: "job.ignored", id, task, retries, deliveryCount, seq };
    case "job.revoked":
      return { type: "job.revoked", reason: d.note ?? "revoked", id, task, retries, deliveryCount, seq };
    case "job.expired":
      return { type: "job.expired", expiresAt: d.expiresAt ?? 0, id, task, retries, deliveryCount, seq };
  }
}

/** The record stored for a job in `state`. Pure. */
export function resultRecord(
  h: JobFields,
  worker: string,
  now: number,
  state: TaskState,
  extra: { value?: unknown; error?: SerializedError; deadLetter?: string; reason?: string; startedAt?: number } = {},
): ResultRecord {
  const record: ResultRecord = {
    id: h.id,
    task: h.task,
    state,
    result: state === "SUCCESS" ? extra.value : undefined,
    error: extra.error,
    retries: h.retries,
    deliveryCount: h.deliveryCount,
    worker,
    finishedAt: now,
  };
  if (extra.deadLetter !== undefined) record.deadLetter = extra.deadLetter;
  if (extra.reason !== undefined) record.reason = extra.reason;
  if (extra.startedAt !== undefined && extra.startedAt > 0) record.startedAt = extra.startedAt;
  return record;
}

/** The job fields every job event carries, copied off a held job (with its run's trace when traced). Pure. */
export function fields(h: Traced): JobFields {
  const f: JobFields = { id: h.id, task: h.task, retries: h.retries, deliveryCount: h.deliveryCount, seq: h.seq };
  if (h.span !== undefined) {
    const c = h.span.spanContext();
    f.traceId = c.traceId;
    f.spanId = c.spanId;
  }
  return f;
}
