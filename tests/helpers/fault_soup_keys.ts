/**
 * The fault soup's concurrency keys, pure: which jobs of a seed are keyed (a
 * draw of its own, fault_soup_draws.ts), how their
 * runs pair up from the record file, and the check that no more than a key's
 * limit of runs overlap (README "Per-key concurrency"). No I/O.
 *
 * @module
 */

import fc from "fast-check";
import { DRAW, drawSeed } from "./fault_soup_draws.ts";

/** The keyed tasks of the soup fixture, with their `concurrency.limit`. */
export const KEY_LIMITS = { keyedSlow: 2, keyedLate: 1, keyedRetry: 2, keyedRequeue: 1 } as const;
export type KeyedBehaviour = keyof typeof KEY_LIMITS;
export const KEYED: readonly KeyedBehaviour[] = Object.keys(KEY_LIMITS) as KeyedBehaviour[];

/** A keyed job as drawn: its task, how long it runs, when it is published and how it carries its key. */
export interface KeyedDraw {
  behaviour: KeyedBehaviour;
  ms: number;
  during: boolean;
  gapMs: number;
  /** The `Qw-Concurrency-Key` header; null: none, the task's one key. */
  key: string | null;
  /** Published on `<stream>._key.<task>.<token>` as a client does; false: on `<stream>.<task>` (the worker routes it). */
  onKeySubject: boolean;
}

// About half the seeds key nothing; the others add 2-8 jobs of the keyed tasks over 1-4 keys, some keyless.
const keyArb = fc.oneof(
  fc.constant(null),
  fc.record({
    keys: fc.integer({ min: 1, max: 4 }),
    jobs: fc.array(
      fc.record({
        behaviour: fc.constantFrom(...KEYED),
        ms: fc.integer({ min: 20, max: 300 }),
        during: fc.boolean(),
        gapMs: fc.integer({ min: 0, max: 100 }),
        key: fc.nat(), // n % (keys + 1) === keys: keyless
        onKeySubject: fc.boolean(),
      }),
      { minLength: 2, maxLength: 8 },
    ),
  }),
);

/** The keyed jobs of a seed (none for about half the seeds); the same seed always gives the same. */
export function keyedDraws(seed: number): KeyedDraw[] {
  const k = fc.sample(keyArb, { seed: drawSeed(seed, DRAW.keys), numRuns: 1 })[0];
  if (k === null) return [];
  return k.jobs.map((j) => {
    const n = j.key % (k.keys + 1);
    const key = n === k.keys ? null : `tenant ${n}`;
    return { behaviour: j.behaviour, ms: j.ms, during: j.during, gapMs: j.gapMs, key, onKeySubject: key !== null && j.onKeySubject };
  });
}

/** One run of a keyed job: when it started and ended (epoch ms); `end` null when no end was recorded. */
export interface KeyRun {
  job: string;
  start: number;
  end: number | null;
}

/**
 * Pair a job's recorded starts and ends into runs: a run ends at the first end
 * at or after its start and before the next start; a run with none (its
 * process or Web Worker died while it ran) has `end` null.
 */
export function keyRuns(job: string, starts: readonly number[], ends: readonly number[]): KeyRun[] {
  const s = [...starts].sort((a, b) => a - b);
  const e = [...ends].sort((a, b) => a - b);
  return s.map((start, i) => {
    const next = s[i + 1] ?? Infinity;
    const end = e.find((t) => t >= start && t < next) ?? null;
    return { job, start, end };
  });
}

/** A moment when more runs of one key overlapped than its limit allows. */
export interface Overlap {
  at: number;
  running: number;
  jobs: string[];
}

/**
 * The moments more than `limit` runs of one key ran at once. A run ends at its
 * recorded end (written before its result and its ack, so before its slot
 * frees); one without an end holds its slot for `openMs` from its start (the
 * ack wait: the least the server keeps the slot of a process that died while
 * it ran), and no longer, as it may have died at any moment after. Runs that
 * touch (one ends the same millisecond the next starts) do not overlap.
 */
export function keyOverlaps(runs: readonly KeyRun[], limit: number, openMs: number): Overlap[] {
  const events = runs.flatMap((r) => [
    { t: r.start, d: 1, job: r.job },
    { t: r.end ?? r.start + openMs, d: -1, job: r.job },
  ]).sort((a, b) => a.t - b.t || a.d - b.d);
  const running = new Map<string, number>();
  let n = 0;
  const out: Overlap[] = [];
  for (const ev of events) {
    n += ev.d;
    running.set(ev.job, (running.get(ev.job) ?? 0) + ev.d);
    if (ev.d > 0 && n > limit) out.push({ at: ev.t, running: n, jobs: [...running].filter(([, c]) => c > 0).map(([j]) => j).sort() });
  }
  return out;
}
