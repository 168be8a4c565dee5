/**
 * How long a revoke is kept when the server can expire it by itself (per-key
 * TTL in a KV bucket, ADR-48, nats-server 2.11+). A revoke matters only while
 * its job can still be delivered: a job cannot outlive the work stream's max
 * age, so that bounds it; a stream without one keeps a revoke as long as the
 * job's result (the results TTL), the bucket's own max age on older servers.
 * Pure.
 *
 * @module
 */

/** How long the server keeps the delete marker of a revoke that expired, in seconds: long enough for every watcher to see it. */
export const REVOKE_MARKER_TTL = 60;

/** What the TTL of a revoke is chosen from, all in seconds (0: not set). */
export interface RevokeTtlInput {
  /** The TTL asked for with `revoke(id, { ttl })`, if any. */
  requested?: number;
  /** The work stream's `max_age`; 0 when it has none. */
  streamMaxAge: number;
  /** The results TTL. */
  resultTtl: number;
  /** The revoked bucket's own max age; 0 when it has none. No key outlives it. */
  bucketMaxAge: number;
}

/**
 * The TTL of one revoke in whole seconds (>= 1, as the server requires): the
 * one asked for, else the stream's max age, else the results TTL; never past
 * the bucket's max age. Pure.
 */
export function revokeTtl(o: RevokeTtlInput): number {
  if (o.requested !== undefined && !(typeof o.requested === "number" && o.requested > 0 && Number.isFinite(o.requested))) {
    throw new RangeError(`Cannot revoke job as 'ttl' must be a number of seconds > 0: current value is "${o.requested}"`);
  }
  let ttl = o.requested ?? (o.streamMaxAge > 0 ? o.streamMaxAge : o.resultTtl);
  if (o.bucketMaxAge > 0) ttl = Math.min(ttl, o.bucketMaxAge);
  return Math.max(1, Math.ceil(ttl));
}

/** The `Nats-TTL` header value of a TTL in seconds. Pure. */
export const ttlHeader = (seconds: number): string => `${seconds}s`;
