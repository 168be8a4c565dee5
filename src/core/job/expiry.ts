/**
 * Job expiry (Celery's `expires`): a job not started by its expiry never
 * runs. The expiry is absolute, epoch milliseconds, carried by the job's
 * `Qw-Expires` header from its enqueue through every retry; a task's own
 * `expires` option gives one to jobs enqueued without it. Pure: the caller
 * passes the time.
 *
 * The server's per-message TTL (`Nats-TTL`, 2.11+) is a backstop, not the
 * expiry itself: it is the time left plus {@linkcode EXPIRY_TTL_GRACE_S}, so a
 * worker that is running meets the expired job first and stores it REVOKED
 * (expired), and a queue nobody consumes is emptied by the server.
 *
 * @module
 */

/** How long the server keeps an expired job for a worker to record it REVOKED, in seconds. */
export const EXPIRY_TTL_GRACE_S = 3600;

/** The reason stored with the REVOKED record of an expired job. */
export const EXPIRED_REASON = "expired";

/**
 * The expiry of a job to enqueue: `expires` seconds from `now`, or a Date.
 * Throws a one-line TypeError or RangeError that starts with `Cannot <attempt>`.
 */
export function expiryOf(attempt: string, expires: number | Date, now: number): number {
  if (expires instanceof Date) {
    const t = expires.getTime();
    if (Number.isNaN(t)) throw new TypeError(`Cannot ${attempt} as 'expires' must be a valid Date: current value is "Invalid Date"`);
    return Math.round(t);
  }
  if (typeof expires !== "number" || Number.isNaN(expires)) {
    throw new TypeError(`Cannot ${attempt} as 'expires' must be seconds (a number > 0) or a Date: current value is ${JSON.stringify(String(expires))}`);
  }
  if (!(expires > 0) || !Number.isFinite(expires)) {
    throw new RangeError(`Cannot ${attempt} as 'expires' must be > 0 seconds: current value is ${JSON.stringify(String(expires))}`);
  }
  return Math.round(now + expires * 1000);
}

/**
 * The `Qw-Expires` header read: epoch milliseconds, null when absent, or
 * `invalid` (a reason) when it is not a whole number >= 0.
 */
export function parseExpiresHeader(value: string | null): { at: number | null; invalid: string | null } {
  if (value === null || value === "") return { at: null, invalid: null };
  const at = Number(value);
  if (/^\d+$/.test(value) && Number.isSafeInteger(at)) return { at, invalid: null };
  return { at: null, invalid: `Header 'Qw-Expires' must be epoch milliseconds (a whole number): current value is ${JSON.stringify(value)}` };
}

/**
 * The expiry of a delivered job: its header's, else its task's `expires`
 * seconds counted from when the server stored the message (`storedAt`, epoch
 * ms), else none.
 */
export function jobExpiry(header: number | null, taskExpires: number | null, storedAt: number): number | null {
  if (header !== null) return header;
  if (taskExpires === null || !(taskExpires > 0)) return null;
  return Math.round(storedAt + taskExpires * 1000);
}

/** True when a job with this expiry must not start at `now`: the expiry is the first instant it may not. */
export function isExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && now >= expiresAt;
}

/**
 * The time a delayed job is due to leave the delayed subject: its eta, or its
 * expiry when that comes first (so it is recorded REVOKED at its expiry, not
 * at an eta after it). Null eta means now.
 */
export function releaseAt(etaMs: number | null, expiresAt: number | null): number | null {
  if (expiresAt === null) return etaMs;
  if (etaMs === null) return null;
  return Math.min(etaMs, expiresAt);
}

/**
 * The server's per-message TTL for a job, in whole seconds (`Nats-TTL`
 * accepts no less than 1): the time left until the expiry, rounded up, plus
 * the grace. An expiry already past still gets the grace.
 */
export function messageTtlSeconds(expiresAt: number, now: number, graceS = EXPIRY_TTL_GRACE_S): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000)) + Math.max(1, Math.ceil(graceS));
}
