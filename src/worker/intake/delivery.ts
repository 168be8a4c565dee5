/**
 * What one delivery of a job message says, read once when it arrives: its
 * stream sequence and delivery count (from the ack subject), its task, id and
 * retries, and how many runs came before it. Runs, not deliveries: a copy
 * that a worker handed back without running it carries the runs before it
 * in `Qw-Runs`, and starts again at delivery 1.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { ackNumbers, type JobHeaders, jobHeaders } from "./job_headers.ts";

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
  /** Why the message cannot be a job, or null. */
  invalid: string | null;
}

/** Read a delivery of a message on `<stream>.<task>`. */
export function readDelivery(msg: JsMsg, stream: string, prefix = stream + "."): Delivery {
  // JsMsg's type does not list `reply`, but every JsMsg has one (its ack subject).
  const nums = ackNumbers((msg as unknown as { reply?: string }).reply ?? "");
  const seq = nums?.seq ?? msg.info.streamSequence;
  const deliveryCount = nums?.deliveryCount ?? msg.info.deliveryCount;
  const subject = msg.subject;
  const task = subject.startsWith(prefix) ? subject.slice(prefix.length) : subject;
  const hdr = jobHeaders(msg);
  const id = hdr.id || hdr.msgId || `${stream}:${seq}`;
  const retries = hdr.retries === null || hdr.retries === "" ? 0 : Number(hdr.retries);
  const invalid = Number.isInteger(retries) && retries >= 0
    ? null
    : `Header 'Qw-Retries' must be a whole number >= 0: current value is "${hdr.retries}"`;
  const carried = hdr.runs === null ? 0 : Number(hdr.runs);
  const runsBefore = (Number.isInteger(carried) && carried > 0 ? carried : 0) + deliveryCount - 1;
  return { seq, deliveryCount, task, id, retries: invalid === null ? retries : 0, runsBefore, hdr, invalid };
}
