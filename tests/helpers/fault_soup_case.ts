/**
 * The fault soup's pure half: the behaviours of tests/fixtures/tasks/soup.ts,
 * the oracle (what each must end as, read off `decideAck()` and the README's
 * reliability table), the case generator (fast-check, from an integer seed:
 * the jobs, then the faults around them: rolling restarts, revokes, a
 * results store that stops answering, and pauses of a task or the stream; then each job's priority; then the
 * jobs of keyed tasks, fault_soup_keys.ts) and the verdict
 * on what a run observed. No I/O; fault_soup.ts runs a case.
 *
 * @module
 */

import fc from "fast-check";
import { DRAW, drawSeed } from "./fault_soup_draws.ts";
import { KEYED, keyedDraws } from "./fault_soup_keys.ts";

/** Every task of the soup fixture. */
export const BEHAVIOURS = [
  "succeed",
  "succeedLate",
  "throwsRetried",
  "throwsPlain",
  "retryOnce",
  "requeueOnce",
  "requeueEarly",
  "rejectDrop",
  "ignore",
  "exits",
  "exitsRequeue",
  "uncaught",
  "spins",
  "softLimit",
  "slow",
  "busySync",
  "busySyncLate",
  ...KEYED,
] as const;

/** The long synchronous behaviours: drawn apart (laterArb), with the ack wait they outlast. */
const LATER: readonly Behaviour[] = ["busySync", "busySyncLate"];
export type Behaviour = typeof BEHAVIOURS[number];

/** The stored state, or PENDING when nothing is stored. */
export type SoupState = "SUCCESS" | "FAILURE" | "RETRY" | "STARTED" | "PENDING" | "REVOKED";

/** The behaviours whose task sets `acksLate`: each is acked only once its result is stored. */
export const ACKS_LATE: ReadonlySet<Behaviour> = new Set<Behaviour>([
  "succeedLate",
  "requeueOnce",
  "rejectDrop",
  "exitsRequeue",
  "spins",
  "busySyncLate",
  "keyedLate",
  "keyedRequeue",
]);

/** What one job must end as once qw has settled it. */
export interface Expected {
  /** Executions of the task, retries and redeliveries included. */
  runs: number;
  /** The final stored state. */
  state: "SUCCESS" | "FAILURE" | "PENDING" | "REVOKED";
  /** The stored error's name, for FAILURE. */
  error?: string;
  /** Copies in `<stream>_dlq`. */
  deadLetters: number;
}

const ok = (runs: number): Expected => ({ runs, state: "SUCCESS", deadLetters: 0 });
const failed = (runs: number, error: string, deadLetters = 0): Expected => ({ runs, state: "FAILURE", error, deadLetters });
const pending = (runs: number): Expected => ({ runs, state: "PENDING", deadLetters: 0 });

/**
 * The oracle. Each row follows `decideAck()`: early ack settles every outcome
 * with the ack it already sent; with acksLate, Reject(requeue) naks (a second
 * delivery), Reject terms and dead-letters, a lost Web Worker with
 * rejectOnWorkerLost naks once and terms (dead-letters) on the redelivery, and
 * a hard time limit acks (acksOnFailureOrTimeout defaults to true).
 */
export const ORACLE: Record<Behaviour, Expected> = {
  succeed: ok(1),
  succeedLate: ok(1),
  throwsRetried: failed(3, "TypeError"), // the first run and maxRetries 2; then the original error
  throwsPlain: failed(1, "RangeError"),
  retryOnce: ok(2),
  requeueOnce: ok(2),
  requeueEarly: pending(1), // already acked: nothing to requeue, nothing stored
  rejectDrop: failed(1, "Reject", 1),
  ignore: pending(1),
  exits: failed(1, "WorkerLostError"),
  exitsRequeue: failed(2, "WorkerLostError", 1),
  uncaught: failed(1, "WorkerLostError"),
  spins: failed(1, "TimeLimitExceeded"),
  softLimit: failed(1, "SoftTimeLimitExceeded"),
  slow: ok(1),
  // A synchronous task that holds its thread for up to three times the ack wait: the results of jobs
  // finished before it wait behind it, and none of them, nor it, runs twice.
  busySync: ok(1),
  busySyncLate: ok(1),
  // Keyed (fault_soup_keys.ts): the same rows as their unkeyed kin; a key only bounds how many run at once.
  keyedSlow: ok(1),
  keyedLate: ok(1),
  keyedRetry: ok(2),
  keyedRequeue: ok(2),
};

/** A job revoked before it was published: it never runs, is acked and stored as REVOKED, whatever its task. */
export const REVOKED: Expected = { runs: 0, state: "REVOKED", deadLetters: 0 };

/** One job of a case. */
export interface SoupJob {
  /** The task id (`Qw-Id`); a valid KV key as it is. */
  id: string;
  behaviour: Behaviour;
  /** Args after the record file. */
  args: unknown[];
  /** Published before qw starts pulling, or while it runs. */
  phase: "before" | "during";
  /** Pause before publishing it (jobs published while qw runs only). */
  gapMs: number;
  /** 0 (lowest) to 9: published on `<stream>.<task>` at 5, else on `<stream>.p<N>.<task>`. */
  priority: number;
  /**
   * A job of a keyed task: its `Qw-Concurrency-Key` header (null: none, the task's one key) and whether it is
   * published on its key's subject, as a client does, or on `<stream>.<task>` for the worker to route.
   */
  key?: { key: string | null; onKeySubject: boolean };
}

/** A pause played while qw runs, as `qw pause` then `qw resume` do it. */
export interface SoupPause {
  /** When (ms after qw starts pulling) the pause is stored; a pause never starts before the previous one ended. */
  atMs: number;
  /** How long until the resume. */
  ms: number;
  /** The paused task (a behaviour); null: the whole stream. */
  task: Behaviour | null;
}

/** One generated case. */
export interface SoupCase {
  seed: number;
  concurrency: 1 | 2 | 4;
  /** "workqueue": qw creates the stream; "limits": the runner creates a limits-retention stream first. */
  kind: "workqueue" | "limits";
  /** The worker's --ack-wait in seconds: 1 is shorter than a busySync job. */
  ackWait: 1 | 5;
  jobs: SoupJob[];
  /**
   * Rolling restarts: at each of these times (ms after qw starts pulling) a
   * second qw process starts on the stream and, once it is up, the first gets
   * SIGTERM, as a deploy does.
   */
  restarts: number[];
  /** For `ms` from `atMs` after qw starts pulling, the results bucket's stream answers no write. */
  outage: { atMs: number; ms: number } | null;
  /** Jobs revoked with terminate once their SUCCESS is stored: it must stay as it is. */
  revokeDone: string[];
  /** Jobs revoked with terminate before they are published ("during" jobs): {@linkcode REVOKED}. */
  revokeWaiting: string[];
  /** Pauses in time order; none of what they pause starts while paused, and all of it runs after the resume. */
  pauses: SoupPause[];
}

const jobArb = fc.record({
  behaviour: fc.constantFrom(...BEHAVIOURS.filter((b) => !LATER.includes(b) && !(KEYED as readonly string[]).includes(b))),
  ms: fc.integer({ min: 20, max: 300 }),
  during: fc.boolean(),
  gapMs: fc.integer({ min: 0, max: 100 }),
});

const caseArb = fc.record({
  concurrency: fc.constantFrom(1 as const, 2 as const, 4 as const),
  kind: fc.constantFrom("workqueue" as const, "limits" as const),
  jobs: fc.array(jobArb, { minLength: 4, maxLength: 20 }),
});

// Long synchronous jobs and an ack wait shorter than they run, a draw of their own.
const laterArb = fc.record({
  ackWait: fc.constantFrom(1 as const, 5 as const),
  jobs: fc.array(fc.record({ behaviour: fc.constantFrom(...LATER), ms: fc.integer({ min: 20, max: 300 }), during: fc.boolean(), at: fc.nat() }), {
    maxLength: 2,
  }),
});

// Rolling restarts, a results store that stops answering and revokes, drawn apart from both draws above
// (each a fault of its own, so one seed may have none, one or all of them).
const faultArb = fc.record({
  restarts: fc.oneof(fc.constant([]), fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 1, maxLength: 2 })),
  outage: fc.oneof(fc.constant(null), fc.record({ atMs: fc.integer({ min: 0, max: 1_500 }), ms: fc.integer({ min: 300, max: 1_500 }) })),
  revokeDone: fc.oneof(fc.constant([]), fc.array(fc.nat(), { minLength: 1, maxLength: 2 })),
  revokeWaiting: fc.oneof(fc.constant([]), fc.array(fc.nat(), { minLength: 1, maxLength: 2 })),
});

// Priorities and pauses, each a draw of its own. A seed
// keeps every job at the default priority, or spreads them over 0-9; it pauses nothing, or a task or the stream
// once or twice.
const MAX_JOBS = 22; // 20 drawn by caseArb, 2 by laterArb
const priorityArb = fc.oneof(fc.constant(null), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: MAX_JOBS, maxLength: MAX_JOBS }));
const pauseArb = fc.oneof(
  fc.constant([]),
  fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 1_500 }), ms: fc.integer({ min: 300, max: 2_000 }), stream: fc.boolean(), job: fc.nat() }), {
    minLength: 1,
    maxLength: 2,
  }),
);

/**
 * The case of a seed; the same seed always gives the same case. Each part is
 * drawn from a seed of its own ({@linkcode drawSeed}), so what one part draws
 * says nothing of what another does.
 */
export function soupCase(seed: number): SoupCase {
  const draw = <T>(arb: fc.Arbitrary<T>, salt: number): T => fc.sample(arb, { seed: drawSeed(seed, salt), numRuns: 1 })[0];
  const c = draw(caseArb, DRAW.case);
  const later = draw(laterArb, DRAW.later);
  const faults = draw(faultArb, DRAW.faults);
  const priorities = draw(priorityArb, DRAW.priorities);
  const pauses = draw(pauseArb, DRAW.pauses);
  const jobs = [...c.jobs];
  for (const j of later.jobs) jobs.splice(j.at % (jobs.length + 1), 0, { behaviour: j.behaviour, ms: j.ms, during: j.during, gapMs: 0 });
  const soupJobs: SoupJob[] = jobs.map((j, i) => ({
    id: `j${i}`,
    behaviour: j.behaviour,
    args: j.behaviour === "slow" ? [j.ms] : j.behaviour.startsWith("busySync") ? [j.ms * 10] : [],
    phase: j.during ? "during" : "before",
    gapMs: j.during ? j.gapMs : 0,
    priority: priorities === null ? 5 : priorities[i % MAX_JOBS],
  }));
  const pick = (from: SoupJob[], at: readonly number[]) => from.length === 0 ? [] : [...new Set(at.map((n) => from[n % from.length].id))];
  const revokeDone = pick(soupJobs.filter((j) => ORACLE[j.behaviour].state === "SUCCESS"), faults.revokeDone);
  const revokeWaiting = pick(soupJobs.filter((j) => j.phase === "during" && !revokeDone.includes(j.id)), faults.revokeWaiting);
  const plain = soupJobs.length;
  // Keyed jobs come last, from a draw of their own: never revoked, nor paused by task.
  soupJobs.push(...keyedDraws(seed).map((k, i): SoupJob => ({
    id: `k${i}`,
    behaviour: k.behaviour,
    args: [k.ms],
    phase: k.during ? "during" : "before",
    gapMs: k.during ? k.gapMs : 0,
    priority: 5,
    key: { key: k.key, onKeySubject: k.onKeySubject },
  })));
  return {
    seed,
    concurrency: c.concurrency,
    kind: c.kind,
    ackWait: later.ackWait,
    jobs: soupJobs,
    restarts: [...faults.restarts].sort((a, b) => a - b),
    outage: faults.outage,
    revokeDone,
    revokeWaiting,
    pauses: [...pauses].sort((a, b) => a.atMs - b.atMs).map((p) => ({
      atMs: p.atMs,
      ms: p.ms,
      task: p.stream ? null : soupJobs[p.job % plain].behaviour,
    })),
  };
}

/** When a pause was in force, as the runner saw it from outside: epoch ms; `to` is null while it still is. */
export interface PauseWindow {
  task: Behaviour | null;
  from: number;
  to: number | null;
}

/** How long a stored pause may take to reach every process (README, "Pause and resume": within 1 s). */
export const PAUSE_REACH_MS = 1_000;

/**
 * The starts of job `j` (epoch ms, from the record file) that came while a
 * pause of its task or of the stream was in force: later than
 * {@linkcode PAUSE_REACH_MS} after the pause was stored and before the resume
 * was sent. Any one of them is a job run while paused.
 */
export function startsWhilePaused(j: SoupJob, starts: readonly number[], windows: readonly PauseWindow[]): number[] {
  return starts.filter((t) =>
    windows.some((w) => (w.task === null || w.task === j.behaviour) && t > w.from + PAUSE_REACH_MS && (w.to === null || t < w.to))
  );
}

/** What a job of a case must end as: the oracle's row, or {@linkcode REVOKED} for a job revoked before it was published. */
export function expectedOf(c: SoupCase, j: SoupJob): Expected {
  return c.revokeWaiting.includes(j.id) ? REVOKED : ORACLE[j.behaviour];
}

/** When the results store refused writes: epoch ms; `end` is null while it still does. */
export interface Outage {
  start: number;
  end: number | null;
}

/**
 * True when a job's result may be missing because the store refused it: an
 * early-ack job was acked before its result was written, and a write that
 * fails then is reported (`result.store_failed`), not retried, so the job is
 * neither run again nor stored. Only a job whose last run (or, with none, its
 * publish) began after the store answered again is sure to be stored: its
 * write came later. An acksLate job is never excused: its write is retried
 * while its lease is held, and it is acked only once stored.
 */
export function resultMayBeLost(b: Behaviour, lastStart: number, outage: Outage | null): boolean {
  if (outage === null || ACKS_LATE.has(b)) return false;
  return outage.end === null || lastStart < outage.end;
}

/** What the runner saw of one job. */
export interface Seen {
  runs: number;
  state: SoupState;
  error?: string;
  deadLetters: number;
  /** Runs that started while a pause of the job's task or of the stream was in force ({@linkcode startsWhilePaused}). */
  runsWhilePaused?: number;
  /** For a keyed job: the moments it ran while its key already ran as many as its limit allows. */
  overlaps?: number;
}

/** A job's verdict: as expected, held past the bound, or settled otherwise. */
export type Verdict = "ok" | "stuck" | "wrong";

/**
 * The stored state is as expected; when the result `lost` may be missing
 * (see {@linkcode resultMayBeLost}), a state that is not final (nothing, or
 * an earlier RETRY or STARTED) will do too, never another final state.
 */
function stateOk(exp: Expected, seen: Seen, lost: boolean): boolean {
  if (seen.state === exp.state) return exp.state !== "FAILURE" || seen.error === exp.error;
  return lost && (seen.state === "PENDING" || seen.state === "RETRY" || seen.state === "STARTED");
}

/** True when a job ended exactly as the oracle says. */
export function matches(exp: Expected, seen: Seen, lost = false): boolean {
  return seen.runs === exp.runs && seen.deadLetters === exp.deadLetters && stateOk(exp, seen, lost);
}

/** True when a job reached its expected runs and state (dead letters are checked once settled). */
export function reached(exp: Expected, seen: Seen, lost = false): boolean {
  return seen.runs >= exp.runs && stateOk(exp, seen, lost);
}

/**
 * The verdict once the run is over. A job that is not as expected is stuck
 * when the server still holds work for qw (so it may yet be settled) and it
 * has not run more than expected; otherwise qw settled it wrongly. A job
 * that started while paused is wrong whatever it ended as.
 */
export function verdict(exp: Expected, seen: Seen, held: boolean, lost = false): Verdict {
  if ((seen.runsWhilePaused ?? 0) > 0 || (seen.overlaps ?? 0) > 0) return "wrong";
  if (matches(exp, seen, lost)) return "ok";
  return held && seen.runs <= exp.runs ? "stuck" : "wrong";
}

/**
 * The one other end an early-ack keyed job may have: delivered again after its
 * process died while it ran, it is not run again but stored FAILURE
 * WorkerLostError, dead-lettered nowhere (README "Per-key concurrency",
 * Slots). Only when a qw process of the case did die (`died`): otherwise that
 * end is wrong as any other.
 */
export function lostKeyedRun(j: SoupJob, seen: Seen, died: boolean): boolean {
  return died && j.key !== undefined && !ACKS_LATE.has(j.behaviour) && seen.state === "FAILURE" &&
    seen.error === "WorkerLostError" && seen.runs <= ORACLE[j.behaviour].runs && seen.deadLetters === 0;
}

/** "SUCCESS", "FAILURE TypeError" or "PENDING". */
export function stateText(s: { state: string; error?: string }): string {
  return s.state === "FAILURE" && s.error ? `FAILURE ${s.error}` : s.state;
}
