/**
 * Many jobs in one go: how they are cut into atomic batches (ADR-50,
 * nats-server 2.12+) and the headers each member carries. A batch is stored
 * whole or not at all; more jobs than fit one batch go in several, each
 * atomic on its own. Pure: no NATS here (client/enqueue_many.ts sends them).
 *
 * @module
 */

/** The most messages one atomic batch may hold: the server's default `max_batch_size`. */
export const MAX_ATOMIC_BATCH = 1000;

/** The headers of an atomic batch (ADR-50), as nats-server names them. */
export const BatchHeader = {
  id: "Nats-Batch-Id",
  sequence: "Nats-Batch-Sequence",
  commit: "Nats-Batch-Commit",
} as const;

/** The JetStream API codes of an atomic publish that qw tells apart. */
export const BatchCode = {
  /** The stream lacks `allow_atomic`. */
  Disabled: 10174,
  /** A member's `Nats-Msg-Id` is stored already (or repeats in the batch): nothing of the batch is stored. */
  ContainsDuplicate: 10201,
  /** The batch is larger than the server's `max_batch_size`. */
  TooLarge: 10199,
  /** The stream (50) or the server (1,000) has as many batches open as it takes: try again shortly. */
  TooManyInflight: 10210,
} as const;

/** How a set of jobs goes to the server: in atomic batches, or one by one (pipelined). */
export type FanoutMode = "atomic" | "one_by_one";

/**
 * Atomic batches need a 2.12+ server (`atomicBatch` of serverFeatures) and a
 * stream created with `allow_atomic: true`; anything else publishes one by one.
 * A single job gains nothing from a batch. Pure.
 */
export function fanoutMode(o: { atomicBatch: boolean; allowAtomic: boolean | undefined; count: number }): FanoutMode {
  return o.atomicBatch && o.allowAtomic === true && o.count > 1 ? "atomic" : "one_by_one";
}

/** `count` jobs cut into consecutive [start, end) ranges of at most `max`, in order. Pure. */
export function splitBatches(count: number, max: number = MAX_ATOMIC_BATCH): [number, number][] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`Cannot split jobs into batches as 'count' must be an integer >= 0: current value is "${count}"`);
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`Cannot split jobs into batches as 'max' must be an integer >= 1: current value is "${max}"`);
  const out: [number, number][] = [];
  for (let start = 0; start < count; start += max) out.push([start, Math.min(count, start + max)]);
  return out;
}

/** The batch headers of member `index` (0-based) of a batch of `size`: the last one commits. Pure. */
export function batchHeaders(batchId: string, index: number, size: number): [string, string][] {
  const h: [string, string][] = [[BatchHeader.id, batchId], [BatchHeader.sequence, String(index + 1)]];
  if (index === size - 1) h.push([BatchHeader.commit, "1"]);
  return h;
}

/**
 * The stream sequence of each member of a committed batch: the server stores
 * a batch contiguously and acks only the commit, with the last sequence. Pure.
 */
export function batchSequences(commitSeq: number, size: number): number[] {
  return Array.from({ length: size }, (_, i) => commitSeq - size + 1 + i);
}
