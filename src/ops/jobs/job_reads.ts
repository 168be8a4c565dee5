/**
 * What the job lists read on the server. Waiting and delayed: the messages
 * stored in the work stream, walked in order with the server's "next message
 * on a subject from a sequence" get (one request each, at most a few hundred
 * per read; a work-queue stream allows no second consumer to read them with).
 * Failed, revoked and expired: the latest entries of the results bucket's
 * stream, read by an ordered consumer (see result_index.ts). Running: the
 * worker records, and each running job's record for its progress.
 *
 * @module
 */

import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { isNotFound, isStreamNotFound } from "../../client/server_errors.ts";
import { type JobFilter, type JobRow, matches, type StoredMessage, storedRow } from "./job_rows.ts";

/** Messages read at most by one walk. */
export const WALK_READS = 400;

async function nextMessage(jsm: JetStreamManager, stream: string, seq: number, subject: string): Promise<StoredMsg | null> {
  try {
    // The server's next-by-subject get (2.9+), which the client's types do not list.
    return await jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as { seq: number });
  } catch (e) {
    if (isNotFound(e) || isStreamNotFound(e)) return null;
    throw e;
  }
}

const stored = (m: StoredMsg): StoredMessage => {
  const headers: [string, string][] = [];
  if (m.header) for (const [k, vs] of m.header) for (const v of vs) headers.push([k, v]);
  return { seq: m.seq, subject: m.subject, headers, data: m.data };
};

/**
 * Walk the stored messages on `subject` from the oldest, keeping rows that pass `keep`, until
 * `enough(rows)`, the end, or {@linkcode WALK_READS} reads.
 */
export async function walkStored(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  keep: (r: JobRow) => boolean,
  enough: (rows: JobRow[]) => boolean,
): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  let seq = 1;
  for (let reads = 0; reads < WALK_READS && !enough(rows); reads++) {
    const m = await nextMessage(jsm, stream, seq, subject);
    if (m === null) break;
    seq = m.seq + 1;
    const row = storedRow(stream, stored(m));
    if (row !== null && keep(row)) rows.push(row);
  }
  return rows;
}

/** Jobs stored on the job subjects (every priority) and not running, oldest first. */
export function readWaiting(jsm: JetStreamManager, stream: string, running: Set<string>, f: JobFilter, limit: number): Promise<JobRow[]> {
  return walkStored(jsm, stream, `${stream}.>`, (r) => r.dueAt === undefined && !running.has(r.id) && matches(r, f), (rows) => {
    const per = new Map<string, number>();
    for (const r of rows) per.set(r.priority ?? "default", (per.get(r.priority ?? "default") ?? 0) + 1);
    return per.size > 0 && [...per.values()].every((n) => n >= limit);
  });
}

/** Jobs waiting for their time, held by qw (`_delayed`) or by the server (`_sched`), soonest due first. */
export async function readDelayed(jsm: JetStreamManager, stream: string, f: JobFilter, limit: number): Promise<JobRow[]> {
  const enough = (rows: JobRow[]) => rows.length >= limit;
  const [held, sched] = await Promise.all([
    walkStored(jsm, stream, `${stream}._delayed.>`, (r) => matches(r, f), enough),
    walkStored(jsm, stream, `${stream}._sched.>`, (r) => matches(r, f), enough),
  ]);
  return [...held, ...sched].sort((a, b) => (a.dueAt ?? Infinity) - (b.dueAt ?? Infinity)).slice(0, limit);
}
