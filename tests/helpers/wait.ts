/**
 * Polling helpers for tests that wait on another process (nats-server, a
 * worker) to reach some state. Runtime-neutral: works under bun and deno.
 */

export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs?: number;
  /** Pause between attempts. */
  intervalMs?: number;
  /** Leads the error thrown on timeout; a function is called then (to show a process's output as it is at the timeout). */
  message?: string | (() => string);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `fn` until it returns a truthy value and resolves with that value.
 * A throw counts as "not yet": conditions such as "the server accepts
 * connections" fail by throwing until they hold.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 20, message = "Condition not met" } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    // Checked after the attempt so a slow fn still gets at least one try.
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const detail = "error" in last
    ? `last error: ${describe(last.error)}`
    : `last value: ${describe(last.value)}`;
  throw new Error(`${typeof message === "function" ? message() : message} within ${timeoutMs} ms (${detail})`, {
    cause: "error" in last ? last.error : undefined,
  });
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Cyclic objects and BigInts do not serialise.
    return String(value);
  }
}
