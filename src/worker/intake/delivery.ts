/**
 * What one delivery of a job message says, read once when it arrives: its
 * stream sequence and delivery count (from the ack subject), its task, id and
 * retries, and how many runs came before it. Runs, not deliveries: a copy
 * that a worker handed back without running it carries the runs before it
 * in `Qw-Runs`, and starts again at delivery 1.
 *
 * @module
 */

import { splitPrioritySubject } from "../../core/job/priority.ts";
import type { JsMsg } from "@nats-io/jetstream";
import { ackNumbers, ackTimestampNanos, type JobHeaders, jobHeaders } from "./job_headers.ts";
import { parseExpiresHeader } from "../../core/job/expiry.ts";
import { parseKeySubject } from "../../core/job/concurrency_key.ts";

/** One delivery, read. */
export interface Delivery {
  seq: number;
  deliveryCount: number;
  task: string;
  id: string;
  retries: number;
  /** Earlier deliveries of the job that may have run (see held.ts). */
  runsBefore: number;
  hdr: JobHeaders;
  /** Its `Qw-Expires` (epoch ms), or null (the task's own `expires` may still give one). */
  expiresAt: number | null;
  /** Why the message cannot be a job, or null. */
  invalid: string | null;
  /** It came from a key subject (`<stream>._key.<task>.<token>`): its ack frees its key's slot. */
  keyed: boolean;
}

/** Read a delivery of a message on `<stream>.<task>`. */
export function readDelivery(msg: JsMsg, stream: string, prefix = stream + "."): Delivery {
  // JsMsg's type does not list `reply`, but every JsMsg has one (its ack subject).
  const nums = ackNumbers((msg as unknown as { reply?: string }).reply ?? "");
  const seq = nums?.seq ?? msg.info.streamSequence;
  const deliveryCount = nums?.deliveryCount ?? msg.info.deliveryCount;
  const subject = msg.subject;
  const key = subject.startsWith(prefix + "_key.") ? parseKeySubject(stream, subject) : null;
  const task = key ? key.task : splitPrioritySubject(subject.startsWith(prefix) ? subject.slice(prefix.length) : subject).task;
  const hdr = jobHeaders(msg);
  const id = hdr.id || hdr.msgId || `${stream}:${seq}`;
  const retries = hdr.retries === null || hdr.retries === "" ? 0 : Number(hdr.retries);
  const expires = hdr.expires === null ? null : parseExpiresHeader(hdr.expires);
  const invalid = Number.isInteger(retries) && retries >= 0
    ? (expires?.invalid ?? null)
    : `Header 'Qw-Retries' must be a whole number >= 0: current value is "${hdr.retries}"`;
  const carried = hdr.runs === null ? 0 : Number(hdr.runs);
  const runsBefore = (Number.isInteger(carried) && carried > 0 ? carried : 0) + deliveryCount - 1;
  const expiresAt = expires?.at ?? null;
  return { seq, deliveryCount, task, id, retries: Number.isInteger(retries) && retries >= 0 ? retries : 0, runsBefore, hdr, expiresAt, invalid, keyed: key !== null };
}

/** When the server stored the message (epoch ms), from its ack subject: what a task's own `expires` counts from. */
export function storedAtMs(msg: JsMsg): number {
  const nanos = ackTimestampNanos((msg as unknown as { reply?: string }).reply ?? "");
  return nanos > 0n ? Number(nanos / 1_000_000n) : Math.round(msg.info.timestampNanos / 1e6);
}
