/**
 * The network-fault scenarios as data: the load each puts on the cluster and
 * the fault it injects, and `plan()`, which turns a scenario and a seed into
 * the exact schedule of one run (when the fault starts, whom it hits, how
 * long it lasts), so a seed replays a run.
 *
 * @module
 */

import type { Direction } from "./netns.ts";

/** The ack wait every scenario gives qw, in seconds. */
export const ACK_WAIT_S = 5;

/** What a fault does; durations are decided by plan(). */
export type Fault =
  | { kind: "cut-qw"; direction: Direction; ackWaits: number }
  | { kind: "freeze-qw"; ackWaits: number }
  | { kind: "lossy-qw"; lossPercent: number; delayMs: number; jitterMs: number; seconds: number }
  | { kind: "kill-node"; downSeconds: number }
  | { kind: "freeze-node"; ackWaits: number }
  | { kind: "split-leader"; seconds: number }
  /** The work stream created with `max_bytes` and discard `new`: full while the load is written, freed by the drain. */
  | { kind: "stream-full"; maxBytes: number };

/** Members of each chord's header. */
export const FLOW_MEMBERS = 8;

/** The load of every scenario: jobs of 100 ms, a quarter early ack, results on, 40 flows (and the fixture's 1 s schedule). */
const LOAD = { qws: 3, jobs: 2000, earlyShare: 0.25, jobMs: 100, results: true, flows: 40 } as const;

/** One scenario: its name (for --only), what it shows, its load and its fault. */
export interface Scenario {
  name: string;
  shows: string;
  /** qw processes, each in its own namespace. */
  qws: number;
  jobs: number;
  /** Share of early-ack jobs (the rest are acksLate). */
  earlyShare: number;
  /** Milliseconds each job runs. */
  jobMs: number;
  results: boolean;
  /** Flows enqueued beside the jobs, half chords (of FLOW_MEMBERS steps), half chains of 3. */
  flows: number;
  /** Share of the acksLate jobs that ask for a retry on their first run (a write to the work stream). */
  retryShare?: number;
  /** qw runs with --confirm-ack (strict at most once for the early-ack jobs). */
  confirmAck?: boolean;
  fault: Fault;
}

export const SCENARIOS: Scenario[] = [
  {
    name: "qw-cut-long",
    shows: "a qw cut from the cluster both ways for 2x the ack wait: its jobs go to the others, it rejoins alone",
    ...LOAD,
    fault: { kind: "cut-qw", direction: "both", ackWaits: 2 },
  },
  {
    name: "qw-cut-long-confirm",
    shows: "the same with --confirm-ack: an early-ack job starts only once the server confirmed its ack",
    ...LOAD, confirmAck: true,
    fault: { kind: "cut-qw", direction: "both", ackWaits: 2 },
  },
  {
    name: "qw-cut-short",
    shows: "a qw cut both ways for half the ack wait: nothing is redelivered, its acks go through after the heal",
    ...LOAD,
    fault: { kind: "cut-qw", direction: "both", ackWaits: 0.5 },
  },
  {
    name: "qw-cut-out",
    shows: "a qw whose packets to the cluster are dropped (one way) for 2x the ack wait",
    ...LOAD,
    fault: { kind: "cut-qw", direction: "out", ackWaits: 2 },
  },
  {
    name: "qw-cut-in",
    shows: "a qw that receives nothing from the cluster (one way) for 2x the ack wait",
    ...LOAD,
    fault: { kind: "cut-qw", direction: "in", ackWaits: 2 },
  },
  {
    name: "qw-cut-in-confirm",
    shows: "the same with --confirm-ack",
    ...LOAD, confirmAck: true,
    fault: { kind: "cut-qw", direction: "in", ackWaits: 2 },
  },
  {
    name: "qw-frozen",
    shows: "a qw frozen by SIGSTOP for 2x the ack wait: its jobs run elsewhere while it still holds them, then SIGCONT",
    ...LOAD,
    fault: { kind: "freeze-qw", ackWaits: 2 },
  },
  {
    name: "qw-lossy-slow",
    shows: "10 % loss each way and 100 +- 50 ms delay on a qw's link for 20 s",
    ...LOAD,
    fault: { kind: "lossy-qw", lossPercent: 10, delayMs: 100, jitterMs: 50, seconds: 20 },
  },
  {
    name: "node-kill9",
    shows: "the stream leader's server killed -9 and restarted 5 s later, clients writing throughout",
    ...LOAD,
    fault: { kind: "kill-node", downSeconds: 5 },
  },
  {
    name: "node-frozen",
    shows: "the stream leader's server frozen by SIGSTOP for 2x the ack wait, then SIGCONT",
    ...LOAD,
    fault: { kind: "freeze-node", ackWaits: 2 },
  },
  {
    name: "split-leader",
    shows: "the cluster split 2/1 for 15 s with the stream leader in the minority (qw still reaches every node), then healed",
    ...LOAD,
    fault: { kind: "split-leader", seconds: 15 },
  },
  {
    name: "stream-full",
    shows: "the work stream limited to 32 KiB (discard new) while jobs, retries, flow steps, ticks and results are written: writes refused with a clear error, none accepted may be lost",
    ...LOAD, retryShare: 0.2,
    fault: { kind: "stream-full", maxBytes: 32_768 },
  },
];

/** The scenarios `--short` runs and the share of the load they run it at (not in CI yet: see the README). */
export const SHORT = { names: ["qw-cut-long", "node-kill9"], scale: 0.2 } as const;

/** A scenario at `scale` of its load (at least a few of each). */
export function scaled(s: Scenario, scale: number): Scenario {
  return scale === 1 ? s : { ...s, jobs: Math.max(100, Math.round(s.jobs * scale)), flows: Math.max(4, Math.round(s.flows * scale)) };
}

/** One run's concrete schedule. */
export interface Plan {
  seed: number;
  /** Start the fault once this share of the first half of the jobs has finished. */
  startAt: number;
  /** Index of the qw process hit (qw faults). */
  victim: number;
  /** How long the fault lasts, ms (0: until the run ends). */
  durationMs: number;
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The schedule of one run of `s` under `seed`. */
export function plan(s: Scenario, seed: number): Plan {
  const r = prng(seed);
  const startAt = 0.2 + 0.3 * r();
  const victim = Math.floor(r() * s.qws);
  const jitter = 0.9 + 0.2 * r();
  const f = s.fault;
  const ms = f.kind === "cut-qw" || f.kind === "freeze-qw" || f.kind === "freeze-node"
    ? f.ackWaits * ACK_WAIT_S * 1000
    : f.kind === "lossy-qw" || f.kind === "split-leader"
    ? f.seconds * 1000
    : f.kind === "kill-node"
    ? f.downSeconds * 1000
    : 0;
  // Half an ack wait or less stays below it; longer faults vary by +-10 %.
  const durationMs = ms <= ACK_WAIT_S * 500 ? ms : Math.round(ms * jitter);
  return { seed, startAt, victim, durationMs };
}
