/**
 * One batch call as it crosses to a Web Worker: the items' ids, retries,
 * deliveries, expiries and args, as one JSON body of a pool job (the pool
 * runs a batch call as one job and never looks inside). Each job's body was
 * read on the host, so one that is not a job failed alone before the call.
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
  args: unknown[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The body of the pool job that runs these items in one call. */
export function encodeBatch(items: readonly WireItem[]): Uint8Array {
  return encoder.encode(JSON.stringify({ items }));
}

/** The items of a batch call's body (written by {@linkcode encodeBatch}). */
export function decodeBatch(data: Uint8Array): WireItem[] {
  return (JSON.parse(decoder.decode(data)) as { items: WireItem[] }).items;
}
