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
 * How late a token may still start (ms after its slot): two intervals, at
 * least 50 ms. A token further behind the clock is stale: its time went
 * unused, and running it now would add to the starts of the next second.
 */
export function staleAfterMs(w: RateWindow): number {
  return Math.max(2 * w.intervalMs, 50);
}

/**
 * The slots (epoch ms) of the tokens a claim of `count` got, given the
 * counter's total after it: tokens `total - count + 1 .. total`, those that
 * fit in the window and are not stale at `now`. Empty when the window was
 * full already.
 */
export function grantedSlots(w: RateWindow, start: number, claim: { total: number; count: number; now: number }): number[] {
  const out: number[] = [];
  const oldest = claim.now - staleAfterMs(w);
  for (let i = Math.max(1, claim.total - claim.count + 1); i <= Math.min(claim.total, w.tokens); i++) {
    const slot = start + (i - 1) * w.intervalMs;
    if (slot >= oldest) out.push(slot);
  }
  return out;
}

/**
 * How many stale tokens the window's counter is behind the clock at `now`
 * after reaching `total`: the next claim adds them too, to get tokens near the
 * clock (the window was not used up to now; those tokens are gone).
 */
export function staleBehind(w: RateWindow, start: number, total: number, now: number): number {
  const firstFresh = Math.ceil((now - staleAfterMs(w) - start) / w.intervalMs) + 1;
  return Math.max(0, Math.min(firstFresh, w.tokens + 1) - 1 - total);
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
