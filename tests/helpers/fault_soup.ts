/**
 * The fault soup: a generated mix of jobs that succeed, retry, requeue,
 * reject, crash their Web Worker, overrun time limits or sleep, run by a real
 * `dist/qw` process against a real nats-server, with the faults the seed
 * draws around them: rolling restarts (a second `dist/qw` starts, the first
 * gets SIGTERM), revokes with terminate of finished and of waiting jobs, a
 * results store that stops answering for a while, and pauses of a task or of
 * the stream (as `qw pause` and `qw resume` do them); its jobs are spread over
 * priorities 0-9 or all at the default, and about half the seeds add jobs of
 * keyed tasks (fault_soup_keys.ts). A run passes when every job ends with
 * the runs, stored state and dead letters the oracle gives (fault_soup_case.ts),
 * none started while paused, no key ran more than its limit at once, and the
 * server holds nothing for qw (work, priority and key consumers). Usable from tests
 * and scripts under Bun and Deno: node: built-ins, the NATS client and
 * fast-check only.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { headers as makeHeaders, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  expectedOf,
  type Expected,
  lostKeyedRun,
  type Outage,
  type PauseWindow,
  reached,
  resultMayBeLost,
  type Seen,
  type SoupCase,
  type SoupJob,
  type SoupState,
  startsWhilePaused,
  stateText,
  type Verdict,
  verdict,
} from "./fault_soup_case.ts";
import { faultPlan, Fleet, GRACE_S, playPauses, resultsOutage, Revoker, rollingRestart, sleep } from "./fault_soup_faults.ts";
import { KEY_LIMITS, type KeyedBehaviour, keyOverlaps, keyRuns, type Overlap } from "./fault_soup_keys.ts";
import { jobSubject } from "../../src/client/topology.ts";
import { CONCURRENCY_KEY_HEADER, keySubject } from "../../src/core/job/concurrency_key.ts";
import { DEFAULT_PRIORITY, PRIORITY_LEVELS } from "../../src/core/job/priority.ts";

/** The work consumers of a stream: the default level's, then one per other priority level. */
const workConsumers = (stream: string): string[] =>
  [`qw_${stream}`, ...PRIORITY_LEVELS.filter((l) => l !== DEFAULT_PRIORITY).map((l) => `qw_${stream}_p${l}`)];

export * from "./fault_soup_case.ts";

/** How a case is run. */
export interface SoupOptions {
  /** nats-server URL; one server serves many cases (each has its own stream). */
  server: string;
  /** Where the record file goes. */
  dir: string;
  /** How long qw may take to settle every job (default 30 s). */
  boundMs?: number;
  /** Pause after settling, to catch runs beyond the expected ones (default 500 ms). */
  settleMs?: number;
}

/** One job's outcome. */
export interface JobReport {
  id: string;
  behaviour: string;
  phase: string;
  expected: Expected;
  seen: Seen;
  /** Its result may be missing: early ack, settled while the results store refused writes. */
  mayBeLost: boolean;
  verdict: Verdict;
}

/** One case's outcome. */
export interface SoupReport {
  case: SoupCase;
  stream: string;
  jobs: JobReport[];
  stuck: number;
  wrong: number;
  /** Problems of the run as a whole (qw died, did not stop cleanly, a fault could not be played). */
  problems: string[];
  /** What the server held for qw at the end: pending and unacked on the work consumers (every level and every key), pending on the delayed one. */
  held: { pending: number; ackPending: number; delayed: number };
  /** The faults as they were played: when (after qw started pulling) and what they found. */
  timeline: string[];
  /** The exit of the last qw process. */
  exit: { code: number | null; signal: string | null } | null;
  seconds: number;
  logTail: string;
}

/** Run one case to the end; never throws for what qw does, only for a broken set-up. */
export async function runSoup(c: SoupCase, o: SoupOptions): Promise<SoupReport> {
  const t0 = Date.now();
  const stream = `soup${c.seed}_${crypto.randomUUID().slice(0, 6)}`;
  const file = join(o.dir, `${stream}.jsonl`);
  const nc = await connect({ servers: o.server });
  const fleet = new Fleet([
    "--stream", stream, "--tasks", "tests/fixtures/tasks/soup.ts", "--server", o.server,
    "--concurrency", String(c.concurrency), "--ack-wait", String(c.ackWait), "--log-level", "warning",
    // Longer than any job: a rolling restart's SIGTERM cuts none short. It also bounds the stop of a stuck run.
    "--grace", String(GRACE_S),
  ]);
  const problems = fleet.problems;
  const revoker = new Revoker(o.server, stream, problems);
  let outage: Outage | null = null;
  const timeline: string[] = [];
  const storedBefore = new Set<string>();
  let faults: Promise<void> | null = null;
  try {
    const jsm = await jetstreamManager(nc);
    if (c.kind === "limits") {
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File });
    }
    const before = c.jobs.filter((j) => j.phase === "before");
    const during = c.jobs.filter((j) => j.phase === "during");
    const js = jetstream(nc);
    const publishedAt = new Map<string, number>();
    const publish = async (j: SoupJob) => {
      const h = makeHeaders();
      h.set("Qw-Id", j.id);
      if (j.key?.key != null) h.set(CONCURRENCY_KEY_HEADER, j.key.key);
      // A keyed job goes on its key's subject as a client publishes it, or on the task's with the header alone.
      const subject = j.key?.onKeySubject ? keySubject(stream, j.behaviour, j.key.key ?? "") : jobSubject(stream, j.behaviour, j.priority);
      const data = JSON.stringify({ args: [file, ...j.args] });
      publishedAt.set(j.id, Date.now());
      // A stream the server has just created may not listen on its subjects yet: no responders, for a moment.
      for (let attempt = 0;; attempt++) {
        try {
          return await js.publish(subject, data, { headers: h, msgID: `${stream}-${j.id}` });
        } catch (e) {
          if (attempt >= 40) throw e;
          await sleep(25);
        }
      }
    };
    if (c.kind === "limits") for (const j of before) await publish(j);
    fleet.spawn();
    const alive = () => fleet.unexpected() === undefined;

    // Workqueue: the stream is qw's own, so "before" means the moment qw created it, ahead of its first pull.
    if (c.kind === "workqueue") {
      if (!(await poll(() => jsm.streams.info(stream).then(() => true), alive, 15_000, 5))) {
        throw new Error(`seed ${c.seed}: qw did not create stream ${stream} within 15 s: ${fleet.logTail()}`);
      }
      for (const j of before) await publish(j);
    }
    const pulling = async () => {
      const all = await Promise.all(workConsumers(stream).map((name) => jsm.consumers.info(stream, name).catch(() => null)));
      return all.some((ci) => ci !== null && (ci.num_waiting > 0 || ci.delivered.consumer_seq > 0));
    };
    if (!(await poll(pulling, alive, 15_000, 10))) throw new Error(`seed ${c.seed}: qw did not start pulling within 15 s: ${fleet.logTail()}`);

    // The faults, in time order from now, one after the other, beside the jobs published while qw runs.
    const tPull = Date.now();
    let faultsDone = false;
    const windows: PauseWindow[] = [];
    const watch = new Watch(nc, jsm, stream, file);
    const lost = (j: SoupJob, s: Seen) =>
      !storedBefore.has(j.id) && resultMayBeLost(j.behaviour, s.runs > 0 ? watch.lastStart.get(j.id)! : publishedAt.get(j.id)!, outage);
    const unsettled = async () => {
      const seen = await watch.seen(c);
      return c.jobs.filter((j) => !reached(expectedOf(c, j), seen.get(j.id)!, lost(j, seen.get(j.id)!))).length;
    };
    const pauses = playPauses(nc, stream, c, { t0: tPull, windows, go: alive })
      .then((lines) => void timeline.push(...lines))
      .catch((e) => void problems.push(`a pause could not be played: ${(e as Error).message}`));
    faults = (async () => {
      for (const f of faultPlan(c)) {
        await sleep(Math.max(0, tPull + f.atMs - Date.now()));
        if (!alive()) break;
        const at = `+${Date.now() - tPull} ms`;
        if (f.kind === "restart") timeline.push(`${at} restart: ${await rollingRestart(fleet, nc, stream, unsettled)}`);
        else {
          // A job seen stored as expected before the store stops answering keeps its result: it is not excused.
          const seen = await watch.seen(c);
          for (const j of c.jobs) if (reached(expectedOf(c, j), seen.get(j.id)!)) storedBefore.add(j.id);
          const open = c.jobs.length - storedBefore.size;
          await resultsOutage(jsm, stream, f.ms, outage = { start: 0, end: null });
          timeline.push(`${at} results outage ${f.ms} ms with ${open} jobs unsettled`);
        }
      }
    })().catch((e) => void problems.push(`a fault could not be played: ${(e as Error).message}`)).then(() => pauses)
      .finally(() => (faultsDone = true));

    // Revoked before they are published; the pause lets every qw's watch of the revokes see them first.
    if (c.revokeWaiting.length > 0) {
      await revoker.waiting(c.revokeWaiting);
      await sleep(200);
    }
    for (const j of during) {
      await sleep(j.gapMs);
      await publish(j);
    }

    // Finished jobs are revoked as soon as their SUCCESS is seen (polled every 20 ms).
    let over = false;
    const revokesDone = (async () => {
      const todo = new Set(c.revokeDone);
      while (todo.size > 0 && !over) {
        for (const id of [...todo]) {
          if ((await watch.state(id)).state !== "SUCCESS") continue;
          todo.delete(id);
          await revoker.done(id);
        }
        await sleep(20);
      }
    })().catch((e) => void problems.push(`a revoke of a finished job failed: ${(e as Error).message}`));

    const bound = Date.now() + (o.boundMs ?? 30_000);
    let settled = false;
    while (Date.now() < bound && alive()) {
      const seen = await watch.seen(c);
      const held = await watch.held();
      const revokedAll = c.revokeDone.every((id) => revoker.revoked.has(id) || seen.get(id)!.state !== "SUCCESS");
      if (
        faultsDone && revokedAll && held.pending + held.ackPending === 0 &&
        c.jobs.every((j) => reached(expectedOf(c, j), seen.get(j.id)!, lost(j, seen.get(j.id)!)))
      ) {
        settled = true;
        break;
      }
      await sleep(100);
    }
    over = true;
    const gone = fleet.unexpected();
    if (gone) problems.push(`qw #${gone.no} exited during the run: ${JSON.stringify(gone.exit)}`);
    if (settled) await sleep(o.settleMs ?? 500);
    const seen = await watch.seen(c);
    const held = await watch.held();
    const dead = await watch.deadLetters();
    const holds = held.pending + held.ackPending + held.delayed > 0;
    const overlaps = keyedOverlaps(c, watch);
    // A process that died (SIGKILL, or an exit it was not told to make) may leave an early-ack keyed job lost.
    const died = fleet.procs.some((p) => p.exit !== null && (p.exit.signal === "SIGKILL" || !p.told));
    const jobs = c.jobs.map((j): JobReport => {
      const paused = startsWhilePaused(j, watch.starts.get(j.id) ?? [], windows).length;
      const over = overlaps.filter((o) => o.jobs.includes(j.id)).length;
      const s = {
        ...seen.get(j.id)!,
        deadLetters: dead.get(j.id) ?? 0,
        ...(paused > 0 ? { runsWhilePaused: paused } : {}),
        ...(over > 0 ? { overlaps: over } : {}),
      };
      const expected = expectedOf(c, j);
      const mayBeLost = lost(j, s);
      const v = over === 0 && paused === 0 && lostKeyedRun(j, s, died) ? "ok" : verdict(expected, s, holds, mayBeLost);
      return { id: j.id, behaviour: j.behaviour, phase: j.phase, expected, seen: s, mayBeLost, verdict: v };
    });
    for (const o of overlaps) problems.push(`${o.running} runs of one key at once at ${new Date(o.at).toISOString()} (limit ${o.limit}): ${o.jobs.join(" ")}`);

    await Promise.race([faults, sleep(30_000)]);
    await Promise.race([revokesDone, sleep(5_000)]);
    const last = fleet.current;
    const stop = await fleet.stop(last);
    if (stop === null) problems.push(`qw #${last.no} did not exit after SIGTERM`);
    else if (stop.code !== 0 && !gone) problems.push(`qw #${last.no} exited ${JSON.stringify(stop)} after SIGTERM, not 0`);
    return {
      case: c,
      stream,
      jobs,
      stuck: jobs.filter((j) => j.verdict === "stuck").length,
      wrong: jobs.filter((j) => j.verdict === "wrong").length,
      problems,
      held,
      timeline,
      exit: stop,
      seconds: (Date.now() - t0) / 1000,
      logTail: fleet.logTail(),
    };
  } finally {
    fleet.killAll();
    // The outage ends whatever happened (its own finally restores the subjects).
    if (faults) await Promise.race([faults, sleep(5_000)]);
    await revoker.close().catch(() => {});
    await nc.close();
  }
}

/** True when a run passed. */
export const passed = (r: SoupReport): boolean => r.stuck === 0 && r.wrong === 0 && r.problems.length === 0;

/** One line: the seed, its shape and each job that failed. */
export function failureLine(r: SoupReport): string {
  const c = r.case;
  const bad = r.jobs.filter((j) => j.verdict !== "ok").map((j) =>
    `${j.verdict} ${j.id} ${j.behaviour} (runs ${j.seen.runs}/${j.expected.runs}, ${stateText(j.seen)}/${stateText(j.expected)}` +
    `${j.seen.deadLetters !== j.expected.deadLetters ? `, dead letters ${j.seen.deadLetters}/${j.expected.deadLetters}` : ""}` +
    `${j.seen.runsWhilePaused ? `, ${j.seen.runsWhilePaused} started while paused` : ""}` +
    `${j.seen.overlaps ? `, ${j.seen.overlaps} runs over its key's limit` : ""})`
  );
  const held = `held ${r.held.pending} pending, ${r.held.ackPending} unacked, ${r.held.delayed} delayed`;
  return `seed ${c.seed} (concurrency ${c.concurrency}, ${c.kind}, ack wait ${c.ackWait} s, ${c.jobs.length} jobs, ${faultText(c)}${held}): ` +
    [...r.problems, ...bad].join("; ");
}

/** The faults of a case in a few words, each followed by ", "; "" for none. */
export function faultText(c: SoupCase): string {
  const parts = [
    c.restarts.length > 0 ? `${c.restarts.length} rolling restart${c.restarts.length > 1 ? "s" : ""}` : "",
    c.outage ? `results outage ${c.outage.ms} ms` : "",
    c.revokeDone.length > 0 ? `revoked finished ${c.revokeDone.join(" ")}` : "",
    c.revokeWaiting.length > 0 ? `revoked waiting ${c.revokeWaiting.join(" ")}` : "",
    ...c.pauses.map((p) => `pause ${p.task === null ? "stream" : `task ${p.task}`} ${p.ms} ms`),
    c.jobs.some((j) => j.priority !== DEFAULT_PRIORITY) ? `priorities ${c.jobs.map((j) => j.priority).join("")}` : "",
    keyedJobs(c).length > 0 ? `keyed ${keyedJobs(c).map((j) => `${j.id}:${j.key!.key ?? "-"}${j.key!.onKeySubject ? "" : "(routed)"}`).join(" ")}` : "",
  ];
  return parts.filter((p) => p !== "").map((p) => `${p}, `).join("");
}

/** The jobs of a case's keyed tasks. */
export const keyedJobs = (c: SoupCase): SoupJob[] => c.jobs.filter((j) => j.key !== undefined);

/** Every moment a key of the case ran more jobs at once than its task's limit, from the record file's starts and ends. */
function keyedOverlaps(c: SoupCase, watch: Watch): Array<Overlap & { limit: number }> {
  const byKey = new Map<string, SoupJob[]>();
  for (const j of keyedJobs(c)) {
    const k = `${j.behaviour}\n${j.key!.key ?? ""}`;
    byKey.set(k, [...(byKey.get(k) ?? []), j]);
  }
  return [...byKey.values()].flatMap((js) => {
    const limit = KEY_LIMITS[js[0].behaviour as KeyedBehaviour];
    const runs = js.flatMap((j) => keyRuns(j.id, watch.starts.get(j.id) ?? [], watch.ends.get(j.id) ?? []));
    return keyOverlaps(runs, limit, c.ackWait * 1000).map((o) => ({ ...o, limit }));
  });
}

/** A failure in full: the line, how to replay it, the case as JSON and the tail of qw's log. */
export function describeFailure(r: SoupReport, replay: string): string {
  return [
    `fault soup ${failureLine(r)}`,
    `replay: ${replay}`,
    `case: ${JSON.stringify(r.case)}`,
    `faults: ${r.timeline.join("; ") || "none"}`,
    `qw log (tail):`,
    r.logTail || "(empty)",
  ].join("\n");
}

/** What the server and the record file say about a case's jobs. */
class Watch {
  #kv: KV | null = null;
  constructor(readonly nc: NatsConnection, readonly jsm: JetStreamManager, readonly stream: string, readonly file: string) {}

  /** When each job's last run started, as its record says (epoch ms); read by {@linkcode seen}. */
  readonly lastStart = new Map<string, number>();
  /** When each of a job's runs started (epoch ms), as of the last {@linkcode seen}. */
  starts = new Map<string, number[]>();
  /** When each of a keyed job's runs ended (epoch ms), as of the last {@linkcode seen}. */
  ends = new Map<string, number[]>();

  /** Runs (from the record file) and stored state of every job; dead letters are read separately. */
  async seen(c: SoupCase): Promise<Map<string, Seen>> {
    const runs = new Map<string, number>();
    const starts = new Map<string, number[]>();
    const ends = new Map<string, number[]>();
    for (const line of readLines(this.file)) {
      try {
        const { id, t, note } = JSON.parse(line) as { id: string; t: number; note?: string };
        if (note === "end") { // a keyed run's end, not a run
          ends.set(id, [...(ends.get(id) ?? []), t]);
          continue;
        }
        runs.set(id, (runs.get(id) ?? 0) + 1);
        starts.set(id, [...(starts.get(id) ?? []), t]);
        this.lastStart.set(id, Math.max(this.lastStart.get(id) ?? 0, t));
      } catch { /* a line being written */ }
    }
    this.starts = starts;
    this.ends = ends;
    const out = new Map<string, Seen>();
    for (const j of c.jobs) out.set(j.id, { runs: runs.get(j.id) ?? 0, ...(await this.state(j.id)), deadLetters: 0 });
    return out;
  }

  /** A job's stored state. */
  async state(id: string): Promise<{ state: SoupState; error?: string }> {
    try {
      this.#kv ??= await new Kvm(this.nc).open(`qw_${this.stream}_results`);
      const e = await this.#kv.get(id); // soup ids are their own KV keys
      if (!e || e.operation !== "PUT") return { state: "PENDING" };
      const r = e.json<{ state: SoupState; error?: { name?: string } }>();
      return { state: r.state, error: r.error?.name };
    } catch {
      return { state: "PENDING" }; // no bucket yet
    }
  }

  /** What the server holds for qw: the work consumers of every level and every key's consumer (`<consumer>_key_*`). */
  async held(): Promise<SoupReport["held"]> {
    const info = (name: string) => this.jsm.consumers.info(this.stream, name).catch(() => null);
    const keyed = await this.keyConsumers();
    const [delayed, ...work] = await Promise.all([info(`qw_${this.stream}_delayed`), ...[...workConsumers(this.stream), ...keyed].map(info)]);
    const waiting = (delayed?.num_pending ?? 0) + (delayed?.num_ack_pending ?? 0); // a countdown is a nak with delay
    const sum = (f: (ci: NonNullable<typeof delayed>) => number) => work.reduce((n, ci) => n + (ci === null ? 0 : f(ci)), 0);
    return { pending: sum((ci) => ci.num_pending), ackPending: sum((ci) => ci.num_ack_pending), delayed: waiting };
  }

  /** The names of the stream's key consumers. */
  async keyConsumers(): Promise<string[]> {
    const prefix = `qw_${this.stream}_key_`;
    try {
      const all = await Array.fromAsync(this.jsm.consumers.list(this.stream));
      return all.map((ci) => ci.name).filter((n) => n.startsWith(prefix));
    } catch {
      return [];
    }
  }

  /** Dead letters per task id. */
  async deadLetters(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const name = `${this.stream}_dlq`;
    const si = await this.jsm.streams.info(name).catch(() => null);
    if (!si || si.state.messages === 0) return out;
    for (let seq = si.state.first_seq; seq <= si.state.last_seq; seq++) {
      const m = await this.jsm.streams.getMessage(name, { seq }).catch(() => null);
      const id = m?.header?.get("Qw-Id");
      if (id) out.set(id, (out.get(id) ?? 0) + 1);
    }
    return out;
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

/** Poll `fn` until true; false when `timeoutMs` passes or `go()` turns false. A throw counts as "not yet". */
async function poll(fn: () => Promise<boolean>, go: () => boolean, timeoutMs: number, everyMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && go()) {
    if (await fn().catch(() => false)) return true;
    await sleep(everyMs);
  }
  return false;
}
