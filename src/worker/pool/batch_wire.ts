/**
 * One batch call as it crosses to a Web Worker: the items' ids, retries,
 * deliveries, expiries and raw bodies, as one JSON body of a pool job (the
 * pool runs a batch call as one job and never looks inside). The bodies stay
 * text here: each is parsed in the Web Worker, so one that is not a job fails
 * alone.
 *
 * @module
 */

/** One item of a batch call on the wire. */
export interface WireItem {
  id: string;
  retries: number;
  deliveryCount: number;
  /** Epoch ms from which it must not start; 0 for none. */
  startBy: number;
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The body of the pool job that runs these jobs in one call. */
export function encodeBatch(
  jobs: ReadonlyArray<{ id: string; retries: number; deliveryCount: number; startBy?: number; data: Uint8Array }>,
): Uint8Array {
  const items: WireItem[] = jobs.map((j) => ({
    id: j.id,
    retries: j.retries,
    deliveryCount: j.deliveryCount,
    startBy: j.startBy ?? 0,
    body: decoder.decode(j.data),
  }));
  return encoder.encode(JSON.stringify({ items }));
}

/** The items of a batch call's body (written by {@linkcode encodeBatch}). */
export function decodeBatch(data: Uint8Array): WireItem[] {
  return (JSON.parse(decoder.decode(data)) as { items: WireItem[] }).items;
}
