/**
 * Rate limits shared by every process of a stream (`rateLimitScope:
 * "stream"`): the arithmetic of the time windows and of the tokens a process
 * claims from the server's counter. Pure: the caller passes the clock.
 *
 * A rate of N per second is counted in fixed windows that hold a whole number
 * of tokens (`rateWindow`). Every process adds what it claims to the window's
 * counter on the server; the counter's new total says which tokens of the
 * window it got, and token i of a window may start at `start + i * interval`,
 * so the starts of all processes together are spread over the window instead
 * of bursting at its start. A lone process claims every token: the whole rate.
 *
 * @module
 */

/** How a rate is counted: windows of `windowMs` that hold `tokens` tokens, `intervalMs` apart. */
export interface RateWindow {
  windowMs: number;
  tokens: number;
  intervalMs: number;
}

/** The windows of a rate: one second for N/s when N >= 1; longer for slower rates, so a window holds a whole token. */
export function rateWindow(perSecond: number): RateWindow {
  const tokens = Math.max(1, Math.round(perSecond));
  const windowMs = Math.round((tokens * 1000) / perSecond);
  return { windowMs, tokens, intervalMs: windowMs / tokens };
}

/** The start (epoch ms) of the window `now` falls in: the window's name on the server. */
export function windowStart(w: RateWindow, now: number): number {
  return Math.floor(now / w.windowMs) * w.windowMs;
}

/** The most a process claims at once: a tenth of a window, so a process never sits on much of the rate. */
export function maxClaim(w: RateWindow): number {
  return Math.max(1, Math.ceil(w.tokens / 10));
}

/**
 * How many tokens to claim in one round trip: the jobs waiting now, or a
 * tenth of what this process used in the last window (a busy process claims
 * ahead, an idle one does not), at most {@linkcode maxClaim}.
 */
export function claimSize(w: RateWindow, waiting: number, usedLastWindow: number): number {
  const want = Math.max(waiting, Math.ceil(usedLastWindow / 10), 1);
  return Math.min(want, maxClaim(w));
}

/**
 * The slots (epoch ms) of the tokens a claim of `count` got, given the
 * counter's total after it: tokens `total - count + 1 .. total`, those that
 * fit in the window. Empty when the window was full already.
 */
export function grantedSlots(w: RateWindow, start: number, total: number, count: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(1, total - count + 1); i <= Math.min(total, w.tokens); i++) {
    out.push(start + (i - 1) * w.intervalMs);
  }
  return out;
}

/**
 * When a job holding a token of slot `slot` starts: not before its slot, and
 * not sooner than one interval after this process's last start, so tokens
 * claimed late in a window (their slots past) do not all start at once.
 */
export function tokenStart(w: RateWindow, slot: number, lastStart: number, now: number): number {
  return Math.max(now, slot, lastStart + w.intervalMs);
}

/** Whether a claimed token of the window starting at `start` may still be used at `now`: only within its window. */
export function tokenUsable(w: RateWindow, start: number, now: number): boolean {
  return now < start + w.windowMs;
}

/** The subject token (or KV key part) of a bucket name: kept when it is plain, base64url otherwise. */
export function rateKeyToken(name: string): string {
  if (/^[-_A-Za-z0-9]+$/.test(name)) return name;
  const bytes = new TextEncoder().encode(name);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return "b64_" + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The name of a limiter's counter for one window: `<task>.<window start>`, or
 * `<task>.<key>.<window start>` when the limit is per key (the concurrency key).
 */
export function rateCounterKey(task: string, key: string | null, start: number): string {
  return key === null ? `${rateKeyToken(task)}.${start}` : `${rateKeyToken(task)}.${rateKeyToken(key)}.${start}`;
}
