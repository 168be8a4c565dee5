// Example tasks for the demo: `import { ... } from "qw"` works in dist/qw with nothing installed.
import { Reject, task } from "qw";

/** A plain exported function is a task with default options (early ack). */
export function add(a: number, b: number): number {
  return a + b;
}

/** Acked only after it ran; a lost Web Worker requeues it once. */
export const resize = task({ acksLate: true, rejectOnWorkerLost: true, timeLimit: 30 }, async (w: number, h: number) => {
  await new Promise((r) => setTimeout(r, 50));
  return { w: Math.round(w / 2), h: Math.round(h / 2) };
});

/** Fails twice with a TypeError, then succeeds: autoretry with exponential backoff (factor 0.25 s). */
export const flaky = task(
  { bind: true, acksLate: true, autoretryFor: [TypeError], retryBackoff: 0.25, retryJitter: false },
  (ctx, name: string) => {
    if (ctx.retries < 2) throw new TypeError(`upstream not ready for ${name} (attempt ${ctx.retries + 1})`);
    return `hello ${name} after ${ctx.retries} retries`;
  },
);

/** Rejects negative input to the dead letters. */
export const sqrt = task({ acksLate: true }, (x: number) => {
  if (x < 0) throw new Reject(`cannot take the square root of ${x}`);
  return Math.sqrt(x);
});
