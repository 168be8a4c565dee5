/**
 * The flow and schedule part of the network-fault checker: pure functions
 * from the recorded runs (and each flow's final state) to figures and broken
 * promises, called by `check()` (scripts/net/checker.ts).
 *
 * Flows: every flow ends (its stored state is SUCCESS or FAILURE) with the
 * right result; a chord body is enqueued once, so no body starts twice as a
 * first delivery. A body is acksLate like its members: when its ack is lost it
 * runs again as a redelivery (at least once), counted apart and not failed.
 *
 * Schedules (ids `<task>@<index>@<ISO tick time>`): one job per tick, so no
 * tick starts twice as a first delivery (two messages for one tick). No tick
 * is missed, except where no qw process could publish it: a tick whose time
 * falls in a fault that hit the servers (the stream or its buckets were
 * unavailable to every process), from one period before it to `graceMs` after
 * its heal or one period after the harness's own requests were last refused
 * (the load's publishes, and after the heal a probe's publish and schedule
 * read, scripts/net/usable_probe.ts: the stream or the bucket had no leader
 * yet), whichever is later, may be missed (a process that falls behind fires only the latest
 * missed tick, `catchUp: "latest"`). A fault that hits one qw process leaves
 * two to fire every tick, so none may be missed then.
 *
 * @module
 */

import type { Execution } from "../_harness.ts";
import type { FaultSpan } from "./checker.ts";

/** A flow as the harness enqueued it and read it back at the end. */
export interface FlowOutcome {
  id: string;
  /** Its stored state at the end (null: none). */
  state: string | null;
  /** Its result is the expected one. */
  right: boolean;
}

/** The ticks a run expects: every `everyMs` from `from` to `to` (epoch ms, inclusive). */
export interface TickRange {
  task: string;
  from: number;
  to: number;
  everyMs: number;
  /** How long after a server fault's heal a tick may still be missed. */
  graceMs: number;
}

/** Flow figures. */
export interface FlowFigures {
  flows: number;
  flowsDone: number;
  flowsStalled: number;
  flowsWrong: number;
  /** Chord bodies started twice as a first delivery (enqueued twice). */
  bodiesTwice: number;
  /** Chord bodies run again as a redelivery (a lost ack, at least once). */
  bodiesRedelivered: number;
  violations: string[];
}

/** Schedule figures. */
export interface TickFigures {
  ticks: number;
  ticksRun: number;
  /** Ticks that never ran, outside the tolerated windows. */
  ticksMissed: number;
  /** Ticks that never ran, inside a tolerated window. */
  ticksExcused: number;
  /** Ticks started twice as a first delivery (published twice). */
  ticksDoubled: number;
  violations: string[];
}

const sample = (xs: string[]) => xs.slice(0, 5).join(", ");

/** First-delivery starts per id, and ids with a later delivery, over the ids `keep` selects. */
function starts(execs: Execution[], keep: (id: string) => boolean): { first: Map<string, number>; redelivered: Set<string> } {
  const first = new Map<string, number>();
  const redelivered = new Set<string>();
  for (const e of execs) {
    if (e.kind !== "S" || !keep(e.id)) continue;
    if (e.delivery === 1) first.set(e.id, (first.get(e.id) ?? 0) + 1);
    else redelivered.add(e.id);
  }
  return { first, redelivered };
}

/** Check the flows of a run. */
export function checkFlows(flows: FlowOutcome[], execs: Execution[]): FlowFigures {
  const ids = new Set(flows.map((f) => f.id));
  const isBody = (id: string) => id.endsWith(".body") && ids.has(id.slice(0, id.indexOf(".")));
  const { first, redelivered } = starts(execs, isBody);
  const twice = [...first].filter(([, n]) => n > 1).map(([id]) => id);
  const stalled = flows.filter((f) => f.state !== "SUCCESS" && f.state !== "FAILURE").map((f) => f.id);
  const wrong = flows.filter((f) => f.state === "SUCCESS" && !f.right).map((f) => f.id);
  const failed = flows.filter((f) => f.state === "FAILURE").map((f) => f.id);
  const violations: string[] = [];
  if (stalled.length) violations.push(`${stalled.length} flows stalled, e.g. ${sample(stalled)}`);
  if (failed.length) violations.push(`${failed.length} flows failed, e.g. ${sample(failed)}`);
  if (wrong.length) violations.push(`${wrong.length} flows with a wrong result, e.g. ${sample(wrong)}`);
  if (twice.length) violations.push(`${twice.length} chord bodies enqueued twice, e.g. ${sample(twice)}`);
  return {
    flows: flows.length,
    flowsDone: flows.filter((f) => f.state === "SUCCESS" && f.right).length,
    flowsStalled: stalled.length,
    flowsWrong: wrong.length,
    bodiesTwice: twice.length,
    bodiesRedelivered: redelivered.size,
    violations,
  };
}

/** The tick time of a schedule job id `<task>@<index>@<ISO time>`, or null. */
export function tickTime(id: string, task: string): number | null {
  const parts = id.split("@");
  if (parts.length !== 3 || parts[0] !== task) return null;
  const t = Date.parse(parts[2]);
  return Number.isFinite(t) ? t : null;
}

/** Check the ticks of a run against the range it expects. */
export function checkTicks(range: TickRange, execs: Execution[], faults: FaultSpan[]): TickFigures {
  const { first, redelivered } = starts(execs, (id) => tickTime(id, range.task) !== null);
  const ran = new Set([...first.keys(), ...redelivered]);
  const ranAt = new Set([...ran].map((id) => tickTime(id, range.task)!));
  const serverFaults = faults.filter((f) => f.victims.length === 0);
  const excused = (t: number) =>
    serverFaults.some((f) => t >= f.from - range.everyMs && (f.to === null || t <= Math.max(f.to + range.graceMs, (f.refusedUntil ?? 0) + range.everyMs)));
  const missed: string[] = [];
  let ticks = 0, ticksRun = 0, ticksExcused = 0;
  for (let t = range.from; t <= range.to; t += range.everyMs) {
    ticks++;
    if (ranAt.has(t)) ticksRun++;
    else if (excused(t)) ticksExcused++;
    else missed.push(new Date(t).toISOString());
  }
  const doubled = [...first].filter(([id, n]) => n > 1 && tickTime(id, range.task)! >= range.from).map(([id]) => id);
  const violations: string[] = [];
  if (missed.length) violations.push(`${missed.length} schedule ticks missed outside a server fault, e.g. ${sample(missed)}`);
  if (doubled.length) violations.push(`${doubled.length} schedule ticks published twice, e.g. ${sample(doubled)}`);
  return { ticks, ticksRun, ticksMissed: missed.length, ticksExcused, ticksDoubled: doubled.length, violations };
}
