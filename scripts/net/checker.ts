/**
 * The checker of the network-fault scenarios: a pure function from one run's
 * history (what the harness published, every execution the tasks recorded
 * outside qw, the faults and when they were healed, the server's final state
 * read after the heal) to a report of figures and broken promises.
 *
 * The promises checked:
 * - acksLate loses nothing: every acksLate job finished a run or was dead-lettered;
 * - with results on, every acksLate job that finished a run has its final
 *   result stored (early-ack jobs whose result is missing are counted apart:
 *   their result is written once, after the ack);
 * - early ack runs a job at most once, except when its first run started in a
 *   fault window (from a fault to one ack wait after its heal: an ack sent then
 *   can be lost on a cut link, the documented cost, see "Strict at most once"),
 *   or when a run was of a delivery the server had superseded already (counted
 *   as stale runs, a figure of their own);
 *   an early-ack job that never started is lost too, unless its process logged in a fault window that its
 *   ack was not confirmed (`--confirm-ack`: the job is dropped, not run, as at most once allows; counted apart);
 * - nothing is held at the end: no message left, none pending, none unacked;
 * - qw never needs a restart: no qw process exited on its own;
 * - flows end with the right result, chord bodies are enqueued once, one job
 *   per schedule tick and no tick missed outside a server fault
 *   (scripts/net/checker_flows.ts).
 *
 * @module
 */

import type { Execution } from "../_harness.ts";
import { checkFlows, checkTicks, type FlowFigures, type FlowOutcome, type TickFigures, type TickRange } from "./checker_flows.ts";

/** A job as the harness published it. */
export interface Published {
  id: string;
  /** "late": acksLate; "early": acked when it starts. */
  mode: "late" | "early";
}

/** A fault: when it began and when it was healed (null: never healed). */
export interface FaultSpan {
  name: string;
  from: number;
  to: number | null;
  /** Pids of qw processes the fault hit directly; empty when it hit the servers. */
  victims: number[];
  /**
   * The last time the harness's own requests were refused (a server fault: the stream or the schedules bucket had
   * no leader yet): the load's publishes, and the probe's after the heal (scripts/net/usable_probe.ts).
   */
  refusedUntil?: number | null;
}

/** Everything recorded about one scenario run. */
export interface History {
  published: Published[];
  execs: Execution[];
  deadIds: string[];
  /** Stored result state per job id (null: none), when results are on; undefined when off. */
  results?: Map<string, string | null>;
  faults: FaultSpan[];
  ackWaitMs: number;
  /** The server's state after the heal and the drain. */
  final: { messages: number; pending: number; ackPending: number };
  /** When the queue was seen drained (epoch ms), or null. */
  drainedAt: number | null;
  /** One line per qw process that exited without being asked to. */
  qwExits: string[];
  /** The flows enqueued and their end, when the load had flows. */
  flows?: FlowOutcome[];
  /** The schedule ticks the run expects, when the load had a schedule. */
  ticks?: TickRange;
  /** Publishes the producer saw refused (e.g. the stream full), each retried until stored. */
  refused?: number;
  /** Jobs whose ack a `--confirm-ack` process could not confirm, so it did not run them, and when (from its log). */
  unconfirmed?: { id: string; at: number }[];
}

/** The figures of one run and the promises it broke. */
export interface RunReport extends FlowFigures, TickFigures {
  jobs: number;
  done: number;
  lost: number;
  duplicates: number;
  earlyTwice: number;
  /**
   * Early-ack jobs run twice because one process ran a delivery the server had superseded already: a run of
   * delivery d started after a run of a later delivery of the same job had started (the network held the
   * message past its ack wait, e.g. TCP retransmitting after a cut heals).
   */
  staleRuns: number;
  resultsMissing: number;
  /** Early-ack jobs that finished a run without a stored final result. */
  earlyResultsMissing: number;
  held: number;
  dead: number;
  /** Seconds from the last heal to the end of the first run a victim (or anyone) started after it. */
  recoverSeconds: number | null;
  /** Seconds from the last heal to the drained queue. */
  drainSeconds: number | null;
  /** Publishes refused by the server, each retried until stored. */
  refused: number;
  /** Early-ack jobs never run because their ack was not confirmed in a fault window (dropped, as at most once allows). */
  unconfirmedDropped: number;
  violations: string[];
}

const sample = (xs: string[]) => xs.slice(0, 5).join(", ");

const UNCONFIRMED = /^(\S+)\s+ERROR\s+confirm_ack: Cannot confirm the ack of '([^']+)'/;

/** The jobs a qw process did not run because their ack was not confirmed, from its text log's lines. Pure. */
export function unconfirmedOf(lines: string[]): { id: string; at: number }[] {
  return lines.flatMap((l) => {
    const m = UNCONFIRMED.exec(l);
    const at = m ? Date.parse(m[1]) : NaN;
    return m && Number.isFinite(at) ? [{ id: m[2], at }] : [];
  });
}

/** Check one run's history against the promises. */
export function check(h: History): RunReport {
  const ends = new Map<string, number>();
  const firstStart = new Map<string, number>();
  /** Per job, its starts as [delivery, at]. */
  const runs = new Map<string, [number, number][]>();
  const starts = new Map<string, number>();
  for (const e of h.execs) {
    if (e.kind === "E") ends.set(e.id, (ends.get(e.id) ?? 0) + 1);
    else if (e.kind === "S") {
      starts.set(e.id, (starts.get(e.id) ?? 0) + 1);
      const list = runs.get(e.id) ?? [];
      list.push([e.delivery, e.at]);
      runs.set(e.id, list);
      if (!firstStart.has(e.id) || e.at < firstStart.get(e.id)!) firstStart.set(e.id, e.at);
    }
  }
  const dead = new Set(h.deadIds);
  const inWindow = (at: number) =>
    h.faults.some((f) => at >= f.from - h.ackWaitMs && (f.to === null || at <= f.to + h.ackWaitMs));
  const lostLate: string[] = [], neverStarted: string[] = [], twiceOutside: string[] = [], noResult: string[] = [];
  let done = 0, lost = 0, duplicates = 0, earlyTwice = 0, earlyNoResult = 0, stale = 0, unconfirmedDropped = 0;
  const unconfirmed = new Set((h.unconfirmed ?? []).filter((u) => inWindow(u.at)).map((u) => u.id));
  const superseded = (id: string) => {
    const rs = runs.get(id) ?? [];
    return rs.some(([d, at]) => rs.some(([d2, at2]) => d2 > d && at2 < at));
  };
  for (const j of h.published) {
    const e = ends.get(j.id) ?? 0;
    duplicates += Math.max(0, e - 1);
    if (dead.has(j.id)) continue;
    if (e > 0) done++;
    else {
      lost++;
      if (j.mode === "late") lostLate.push(j.id);
      else if (!starts.has(j.id)) {
        if (unconfirmed.has(j.id)) unconfirmedDropped++;
        else neverStarted.push(j.id);
      }
    }
    if (j.mode === "early" && (starts.get(j.id) ?? 0) > 1) {
      earlyTwice++;
      if (superseded(j.id)) stale++;
      else if (!inWindow(firstStart.get(j.id)!)) twiceOutside.push(j.id);
    }
    if (h.results && e > 0) {
      const state = h.results.get(j.id);
      if (state !== "SUCCESS" && state !== "FAILURE") {
        if (j.mode === "late") noResult.push(j.id);
        else earlyNoResult++;
      }
    }
  }
  const held = h.final.messages + h.final.pending + h.final.ackPending;
  const lastHeal = h.faults.reduce<number | null>((m, f) => (f.to !== null && (m === null || f.to > m) ? f.to : m), null);
  const victims = new Set(h.faults.flatMap((f) => f.victims));
  let recover: number | null = null;
  if (lastHeal !== null) {
    // A run is one (id, pid, delivery): it counts when it started after the heal.
    const startedAfter = new Set<string>();
    for (const e of h.execs) if (e.kind === "S" && e.at >= lastHeal) startedAfter.add(`${e.id} ${e.pid} ${e.delivery}`);
    for (const e of h.execs) {
      if (e.kind !== "E" || e.at < lastHeal || !startedAfter.has(`${e.id} ${e.pid} ${e.delivery}`) || (victims.size > 0 && !victims.has(e.pid))) continue;
      if (recover === null || e.at < recover) recover = e.at;
    }
  }
  const violations: string[] = [];
  if (lostLate.length) violations.push(`lost ${lostLate.length} acksLate jobs, e.g. ${sample(lostLate)}`);
  if (neverStarted.length) violations.push(`${neverStarted.length} early-ack jobs never ran, e.g. ${sample(neverStarted)}`);
  if (twiceOutside.length) violations.push(`${twiceOutside.length} early-ack jobs ran twice outside a fault window, e.g. ${sample(twiceOutside)}`);
  if (noResult.length) violations.push(`${noResult.length} acksLate jobs ran without a stored final result, e.g. ${sample(noResult)}`);
  if (held > 0) violations.push(`${held} jobs still held at the end (${JSON.stringify(h.final)})`);
  if (h.qwExits.length) violations.push(`qw needed a restart: ${h.qwExits.join("; ")}`);
  const flows = checkFlows(h.flows ?? [], h.execs);
  const ticks = h.ticks ? checkTicks(h.ticks, h.execs, h.faults) : { ticks: 0, ticksRun: 0, ticksMissed: 0, ticksExcused: 0, ticksDoubled: 0, violations: [] };
  violations.push(...flows.violations, ...ticks.violations);
  return {
    ...flows,
    ...ticks,
    jobs: h.published.length,
    done,
    lost,
    duplicates,
    earlyTwice,
    staleRuns: stale,
    resultsMissing: noResult.length,
    earlyResultsMissing: earlyNoResult,
    held,
    dead: h.published.filter((j) => dead.has(j.id)).length,
    recoverSeconds: recover === null || lastHeal === null ? null : (recover - lastHeal) / 1000,
    drainSeconds: h.drainedAt === null || lastHeal === null ? null : Math.max(0, h.drainedAt - lastHeal) / 1000,
    refused: h.refused ?? 0,
    unconfirmedDropped,
    violations,
  };
}

/** Figures of one run as printed after the scenario's name. */
export function reportLine(r: RunReport): string {
  const s = (x: number | null) => (x === null ? "n/a" : x.toFixed(1));
  return `jobs ${r.jobs}, done ${r.done}, lost ${r.lost}, duplicates ${r.duplicates}, early twice ${r.earlyTwice} (stale ${r.staleRuns}), ` +
    `results missing ${r.resultsMissing} (early ${r.earlyResultsMissing}), held ${r.held}, dead ${r.dead}, recover s ${s(r.recoverSeconds)}, ` +
    `flows ${r.flows}, stalled ${r.flowsStalled}, bodies twice ${r.bodiesTwice} (redelivered ${r.bodiesRedelivered}), ` +
    `ticks ${r.ticks}, missed ${r.ticksMissed} (excused ${r.ticksExcused}), doubled ${r.ticksDoubled}, refused ${r.refused}, ` +
    `drain s ${s(r.drainSeconds)}${r.unconfirmedDropped ? `, dropped unconfirmed ${r.unconfirmedDropped}` : ""}`;
}
