/**
 * Progress reports from inside a Web Worker: checked, made plain data, and
 * sent at most once per 250 ms per job (the latest wins). Private to
 * worker_entry.ts.
 *
 * @module
 */

/** Sends at most one progress report per this many ms per job. */
export const PROGRESS_EVERY_MS = 250;

/** The progress reporting of one job. */
export interface ProgressReporter {
  report(fraction: number, meta?: unknown): void;
  /** The job ended: what was not sent yet is dropped (its final state says more). */
  end(): void;
}

/** A reporter that calls `send` with the latest report, throttled; `now` is injected for tests. */
export function progressReporter(
  send: (fraction: number, meta: unknown) => void,
  now: () => number = () => performance.now(),
): ProgressReporter {
  let last = -Infinity;
  let latest: { fraction: number; meta: unknown } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    if (latest === null || ended) return;
    last = now();
    const { fraction, meta } = latest;
    latest = null;
    send(fraction, meta);
  };
  return {
    report(fraction, meta) {
      if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
        throw new RangeError(`Cannot report progress as 'fraction' must be a number from 0 to 1: current value is ${JSON.stringify(String(fraction))}`);
      }
      let plain: unknown;
      try {
        plain = meta === undefined ? undefined : JSON.parse(JSON.stringify(meta));
      } catch (e) {
        throw new TypeError(`Cannot report progress as 'meta' must be JSON-serializable: ${(e as Error).message}`);
      }
      latest = { fraction, meta: plain };
      const wait = last + PROGRESS_EVERY_MS - now();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    end() {
      ended = true;
      clearTimeout(timer);
    },
  };
}
