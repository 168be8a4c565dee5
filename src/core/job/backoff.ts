/**
 * Retry delays as Celery computes them. Pure: no timers, no clock, and the
 * random source is injected so tests pin exact values.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * Celery's `get_exponential_backoff_interval`:
 * `min(maximum, factor * 2 ** retries)`, then with full jitter a whole number
 * drawn uniformly from [0, that], never below 0.
 *
 * @param retries How many retries happened before this one (0 for the first).
 * @returns Seconds to wait.
 */
export function exponentialBackoff(
  retries: number,
  options: { factor: number; maximum: number; jitter: boolean; random: RandomSource },
): number {
  const { factor, maximum, jitter, random } = options;
  const countdown = Math.min(maximum, factor * 2 ** retries);
  if (!jitter) return Math.max(0, countdown);
  // Python's random.randrange(n + 1): a whole number in [0, n].
  const drawn = Math.floor(random() * (Math.floor(countdown) + 1));
  return Math.max(0, drawn);
}

/** The retry policy fields that decide a countdown. */
export interface CountdownPolicy {
  defaultRetryDelay: number;
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
}

/**
 * The countdown of the next attempt, in seconds.
 *
 * An explicit countdown wins. An automatic retry uses the exponential backoff
 * when `retryBackoff` is set; everything else waits `defaultRetryDelay`.
 */
export function retryCountdown(
  retries: number,
  options: { policy: CountdownPolicy; explicit?: number; automatic: boolean; random: RandomSource },
): number {
  const { policy, explicit, automatic, random } = options;
  if (explicit !== undefined) return Math.max(0, explicit);
  if (automatic && policy.retryBackoff > 0) {
    return exponentialBackoff(retries, {
      factor: policy.retryBackoff,
      maximum: policy.retryBackoffMax,
      jitter: policy.retryJitter,
      random,
    });
  }
  return policy.defaultRetryDelay;
}
