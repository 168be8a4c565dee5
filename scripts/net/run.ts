/**
 * One run of a network-fault scenario: a fresh 3-node cluster (each node in
 * its namespace), an R3 work stream and R3 results bucket, qw processes each
 * in its namespace, half the jobs published before the fault and half while
 * it lasts; the fault from the plan; then the drain, the server's final state
 * and the check (scripts/net/checker.ts).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { DiscardPolicy } from "@nats-io/jetstream";
import { keyFor, type ResultRecord } from "../../src/client/buckets/result_store.ts";
import { type Client as QwClient, connectClient } from "../../src/client/client.ts";
import { chain, chord, type FlowNode, group, sig } from "../../src/core/flow.ts";
import {
  client,
  type Client,
  countLines,
  createStreams,
  FIXTURES,
  job,
  nowMs,
  publishAll,
  queueState,
  QwProcess,
  readDeadLetters,
  readExecutions,
  ROOT,
  sleep,
  until,
  waitDrained,
} from "../_harness.ts";
import { check, type FaultSpan, type History, type Published, type RunReport, unconfirmedOf } from "./checker.ts";
import { type FlowOutcome, tickTime } from "./checker_flows.ts";
import { freeze, type Net, thaw } from "./netns.ts";
import { type NsNode, startNsCluster } from "./ns_cluster.ts";
import { startProbe } from "./usable_probe.ts";
import { ACK_WAIT_S, FLOW_MEMBERS, type Plan, plan, type Scenario } from "./scenarios.ts";

export const NODES = ["n1", "n2", "n3"];
export const QWS = ["q1", "q2", "q3"];
const STREAM = "NF";
const CONSUMER = `qw_${STREAM}`;
const DRAIN_TIMEOUT_MS = 90_000;
/** The fixture's schedule: task `tick`, every second. */
const TICK_TASK = "tick";
const TICK_MS = 1000;
/** The result TTL qw gives its buckets by default, s: the harness creates them R3 with the same. */
const RESULT_TTL_S = 86_400;

/** Log a progress line on stderr. */
export const progress = (s: string): void => void process.stderr.write(`  ... ${s}\n`);

/** The leader of the work stream, as a node. */
async function leaderNode(c: Client, nodes: NsNode[], timeoutMs = 30_000): Promise<NsNode> {
  let leader = "";
  await until(async () => {
    leader = (await c.jsm.streams.info(STREAM)).cluster?.leader ?? "";
    return leader !== "";
  }, timeoutMs, 200);
  const node = nodes.find((n) => n.serverName === leader);
  if (!node) throw new Error(`Cannot tell the stream leader from '${leader}'`);
  return node;
}

/** Start the delay proxy in a qw's namespace; resolves with its URLs once it listens. */
async function startDelayProxy(net: Net, qw: string, p: Plan, delayMs: number, jitterMs: number): Promise<[ChildProcess, string]> {
  const maps = NODES.map((n, i) => `${14222 + i}=${net.addr(n)}:4222`);
  const [cmd, args] = net.wrap(qw, process.execPath, [join(ROOT, "scripts/net/delay_proxy.ts"), String(delayMs), String(jitterMs), String(p.seed), ...maps]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("The delay proxy did not start within 10 s")), 10_000);
    child.stdout!.once("data", () => (clearTimeout(t), resolve()));
    child.once("exit", (code) => (clearTimeout(t), reject(new Error(`The delay proxy exited with ${code}`))));
  });
  return [child, NODES.map((_, i) => `nats://127.0.0.1:${14222 + i}`).join(",")];
}

/** Every stored result's state, one get per key. */
async function readResultStates(c: Client, ids: string[]): Promise<Map<string, string | null>> {
  const kv = await new Kvm(c.nc).open(`qw_${STREAM}_results`);
  const found = new Map<string, string | null>();
  let next = 0;
  const lane = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const e = await kv.get(keyFor(id));
      found.set(id, e && e.operation === "PUT" ? e.json<ResultRecord>().state : null);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return found;
}

/** Retry a read while the cluster settles after a fault (e.g. "JetStream system temporarily unavailable"). */
async function settled<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`Cannot read ${what} after the heal: ${(e as Error).message}`);
      await sleep(500);
    }
  }
}

/** What a run hands back: the check's report, the plan, and what the fault hit. */
export interface RunResult {
  report: RunReport;
  plan: Plan;
  hit: string;
  seconds: number;
}

/** The flows of a run: even ones chords of FLOW_MEMBERS squares into a sum, odd ones chains 2 -> 4 -> 16 -> 256. */
function flowsOf(n: number): { id: string; flow: FlowNode; want: unknown }[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? {
        id: `f${i}`,
        flow: chord(group(...Array.from({ length: FLOW_MEMBERS }, (_, k) => sig("fsq", [k + i]))), sig("ftotal")),
        want: { n: FLOW_MEMBERS, sum: Array.from({ length: FLOW_MEMBERS }, (_, k) => (k + i) ** 2).reduce((a, b) => a + b, 0) },
      }
      : { id: `f${i}`, flow: chain(sig("fsq", [2]), sig("fsq"), sig("fsq")), want: 256 });
}

/** Counts the publishes the server refused, and keeps the first message of each kind. */
class Refusals {
  count = 0;
  first: number | null = null;
  last: number | null = null;
  readonly kinds = new Set<string>();
  /** Publishes the stream answered as duplicates: each job is published once, so only a retry after an error can be. */
  duplicates: string[] = [];
  dup = (m: { msgId?: string }): void => void this.duplicates.push(m.msgId ?? "");
  note = (e: Error): void => {
    this.count++;
    this.first ??= nowMs();
    this.last = nowMs();
    if (this.kinds.size < 4) this.kinds.add(e.message.split("\n")[0].slice(0, 120));
  };
}

/** Enqueue flows one by one, each retried (same id: the stream deduplicates) until stored. */
async function enqueueFlows(qwc: QwClient, flows: { id: string; flow: FlowNode }[], refused: Refusals): Promise<void> {
  for (const f of flows) {
    for (let attempt = 0;; attempt++) {
      try {
        await qwc.enqueueFlow(f.flow, { id: f.id });
        break;
      } catch (e) {
        refused.note(e as Error);
        if (attempt > 600) throw e;
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  }
}

/** Run scenario `s` once under `seed`, its files in `dir`. */
export async function runOnce(net: Net, s: Scenario, seed: number, dir: string): Promise<RunResult> {
  const p = plan(s, seed);
  const log = join(dir, "executions.log");
  const t0 = Date.now();
  const nodes = await startNsCluster(net, NODES, join(dir, "nodes"));
  const urls = nodes.map((n) => n.url);
  const c = await client(urls);
  const qwc = await connectClient({ servers: urls, stream: STREAM });
  const procs: QwProcess[] = [];
  let proxy: ChildProcess | null = null;
  const faults: FaultSpan[] = [];
  const refused = new Refusals();
  const f = s.fault;
  const full = f.kind === "stream-full";
  let hit = "";
  try {
    await createStreams(c.jsm, STREAM, { replicas: 3 });
    if (f.kind === "stream-full") {
      const cfg = (await c.jsm.streams.info(STREAM)).config;
      await c.jsm.streams.update(STREAM, { ...cfg, max_bytes: f.maxBytes, discard: DiscardPolicy.New });
    }
    // R3 like the stream: qw would create R1 buckets, each lost with its one node. Not the flows bucket: on
    // nats-server 2.15.3 an R3 bucket accepted compare-and-set writes based on a superseded revision, losing chord
    // joins (README, "Network faults"); qw's own R1 bucket keeps them.
    const kvm = new Kvm(c.nc);
    if (s.results) await kvm.create(`qw_${STREAM}_results`, { ttl: RESULT_TTL_S * 1000, history: 1, replicas: 3 });
    if (process.env.QW_NET_FLOWS_R3) await kvm.create(`qw_${STREAM}_flows`, { ttl: RESULT_TTL_S * 1000, history: 1, replicas: 3 });
    const schedules = await kvm.create(`qw_${STREAM}_schedules`, { history: 1, replicas: 3 });
    const schedulesDirect = (await schedules.status()).streamInfo.config.allow_direct ?? false;
    const rand = (i: number) => ((Math.imul(i + 1, 2654435761) ^ seed) >>> 0) / 4294967296;
    const published: Published[] = Array.from({ length: s.jobs }, (_, i) => ({ id: `j${i}`, mode: rand(i) < s.earlyShare ? "early" : "late" }));
    const retryEvery = s.retryShare ? Math.round(1 / s.retryShare) : 0;
    const msgs = published.map((j, i) => job(STREAM, j.mode === "late" && retryEvery > 0 && i % retryEvery === 0 ? "flaky" : j.mode, j.id, [s.jobMs]));
    const flows = flowsOf(s.flows);
    const half = Math.floor(msgs.length / 2);
    const fhalf = Math.floor(flows.length / 2);
    const publish = (from: number, to: number) =>
      Promise.all([publishAll(c.js, msgs.slice(from, to), { onError: refused.note, onDuplicate: refused.dup }), enqueueFlows(qwc, flows.slice(from ? fhalf : 0, to < msgs.length ? fhalf : flows.length), refused)]);
    // A full stream refuses the first half until qw frees space: publish it while qw runs.
    const first = publish(0, half);
    if (!full) await first;
    let victimUrls = urls.join(",");
    if (f.kind === "lossy-qw") [proxy, victimUrls] = await startDelayProxy(net, QWS[p.victim], p, f.delayMs, f.jitterMs);
    for (let i = 0; i < s.qws; i++) {
      const args = ["--stream", STREAM, "--tasks", join(FIXTURES, "net_tasks.ts"), "--server", i === p.victim ? victimUrls : urls.join(","),
        "--log-level", "warning", "--concurrency", "4", "--ack-wait", String(ACK_WAIT_S), ...(s.results ? [] : ["--no-results"]), ...(s.confirmAck ? ["--confirm-ack"] : [])];
      procs.push(QwProcess.start(args, { logFile: join(dir, `qw${i}.log`), env: { QW_CHAOS_LOG: log }, netns: net.ns(QWS[i]) }));
    }
    const qwStarted = nowMs();
    // Each finished job writes an S and an E line.
    if (!await until(() => countLines(log) >= 2 * half * p.startAt, 120_000, 20)) throw new Error("No progress before the fault");
    if (full) await first;
    const rest = publish(half, msgs.length);
    const span: FaultSpan = { name: f.kind, from: nowMs(), to: null, victims: [] };
    faults.push(span);
    const victim = procs[p.victim];
    if (f.kind === "stream-full") {
      // The fault is the load itself: from the first refused publish to the last publish stored.
      await rest;
      span.from = refused.first ?? qwStarted;
      if (refused.duplicates.length) progress(`${refused.duplicates.length} retried publishes answered as duplicates, e.g. ${refused.duplicates.slice(0, 5).join(", ")}`);
      hit = `${refused.count} publishes refused (${[...refused.kinds].join(" | ") || "none"})`;
    } else if (f.kind === "cut-qw") {
      hit = `q${p.victim + 1} ${f.direction}`;
      span.victims.push(victim.pid);
      net.partition(QWS[p.victim], NODES, f.direction);
      await sleep(p.durationMs);
      net.heal(QWS[p.victim]);
    } else if (f.kind === "freeze-qw") {
      hit = `q${p.victim + 1}`;
      span.victims.push(victim.pid);
      freeze(victim.pid);
      await sleep(p.durationMs);
      thaw(victim.pid);
    } else if (f.kind === "lossy-qw") {
      hit = `q${p.victim + 1}`;
      span.victims.push(victim.pid);
      span.from = t0; // the delay was there from the start
      net.loss(QWS[p.victim], f.lossPercent);
      await sleep(p.durationMs);
      net.heal(QWS[p.victim]);
    } else {
      const leader = await leaderNode(c, nodes);
      hit = leader.name;
      if (f.kind === "kill-node") {
        await leader.kill9();
        await sleep(p.durationMs);
        await leader.start();
      } else if (f.kind === "freeze-node") {
        freeze(leader.pid!);
        await sleep(p.durationMs);
        thaw(leader.pid!);
      } else if (f.kind === "split-leader") {
        const cut = Date.now();
        net.partition(leader.name, NODES.filter((n) => n !== leader.name), "both");
        await sleep(p.durationMs / 2);
        const during = await leaderNode(c, nodes, 3_000).then((n) => n.name, () => "none");
        await sleep(Math.max(0, p.durationMs - (Date.now() - cut)));
        net.heal(leader.name);
        span.to = nowMs(); // the heal, not the reads after it
        hit += ` (leader during the split ${during}, after ${(await leaderNode(c, nodes)).name})`;
      }
    }
    span.to ??= nowMs();
    progress(`${s.name}: fault on ${hit} for ${(p.durationMs / 1000).toFixed(1)} s healed at ${countLines(log) >> 1} runs`);
    // A server fault: the cluster may elect its leaders again seconds after the heal; a probe asks it, from
    // outside qw, when a tick could be published, until the drain (scripts/net/usable_probe.ts).
    const probe = span.victims.length === 0 && !full
      ? startProbe(c, {
        job: (n) => job(STREAM, "early", `probe${n}`, [s.jobMs]),
        bucket: `qw_${STREAM}_schedules`,
        direct: schedulesDirect,
        schedule: { task: TICK_TASK, index: 0 },
        onRefused: refused.note,
      })
      : null;
    await rest;
    let drainedAt: number | null = null;
    const drained = async () => {
      try {
        await waitDrained(c.jsm, STREAM, CONSUMER, { timeoutMs: DRAIN_TIMEOUT_MS });
        return nowMs();
      } catch (e) {
        progress(`${s.name}: ${(e as Error).message}`);
        return null;
      }
    };
    drainedAt = await drained();
    // Until when the cluster could not take a tick: its last refusal, or the probe's first answer when that came
    // later (a request can hang for seconds after a split heals, refused by nobody).
    let unusableUntil = refused.last;
    if (probe) {
      // The probe writes until the load is drained, then its own last jobs are.
      const seen = await probe.stop();
      for (const id of seen.stored) published.push({ id, mode: "early" });
      if (drainedAt !== null) drainedAt = await drained();
      const after = (t: number | null) => (t === null ? "n/a" : ((t - span.to!) / 1000).toFixed(1));
      hit += `, after the heal: usable ${after(seen.firstUsable)} s, last refused ${after(seen.lastRefused)} s`;
      if (seen.firstUsable !== null && seen.firstUsable > (unusableUntil ?? 0)) unusableUntil = seen.firstUsable;
    }
    // Until when the cluster refused the harness's requests or left them unanswered: a server fault's ticks are
    // excused until one period after it.
    for (const f of faults) if (f.victims.length === 0) f.refusedUntil = unusableUntil;
    // A short settle, so late acks and result writes land before the final read.
    await sleep(2_000);
    const qwExits = procs.filter((q) => !q.alive).map((q) => `qw ${q.pid} exited ${JSON.stringify(q.exit)}: ${(q.logLines(/\S/).pop() ?? "").slice(0, 160)}`);
    // The schedule fires until qw stops: stop it (SIGTERM settles what runs), then read the state, leaving out
    // the ticks published after the drain that no process took before it stopped.
    const stoppedAt = nowMs();
    await Promise.all(procs.map((q) => q.stop(10_000)));
    const state = await settled("the queue's state", () => queueState(c.jsm, STREAM, CONSUMER));
    const tickSubject = `${STREAM}.${TICK_TASK}`;
    const left = await settled("the ticks left", async () =>
      (await c.jsm.streams.info(STREAM, { subjects_filter: tickSubject })).state.subjects?.[tickSubject] ?? 0);
    const final = { messages: state.messages - left, pending: Math.max(0, state.pending - left), ackPending: state.ackPending };
    const dead = await settled("the dead letters", () => readDeadLetters(c, STREAM));
    const results = s.results ? await settled("the results", () => readResultStates(c, published.map((j) => j.id))) : undefined;
    const flowOutcomes: FlowOutcome[] = await settled("the flows", () =>
      Promise.all(flows.map(async (fl) => {
        const r = await qwc.get(fl.id);
        return { id: fl.id, state: r.state === "PENDING" ? null : r.state, right: "result" in r && JSON.stringify(r.result) === JSON.stringify(fl.want) };
      })));
    const execs = readExecutions(log);
    // Ticks from the first one any process fired to the last one fired before the drain (2 s before it, so
    // its job was in the stream when the drain was seen).
    const tickTimes = execs.flatMap((e) => {
      const t = tickTime(e.id, TICK_TASK);
      return t === null ? [] : [t];
    });
    const end = Math.floor(((drainedAt ?? stoppedAt) - 2_000) / TICK_MS) * TICK_MS;
    const history: History = {
      published, execs, deadIds: dead.flatMap((d) => (d.id ? [d.id] : [])), results, faults,
      ackWaitMs: ACK_WAIT_S * 1000, final, drainedAt, qwExits, flows: flowOutcomes, refused: refused.count,
      unconfirmed: unconfirmedOf(procs.flatMap((q) => q.logLines(/confirm_ack: /))),
      ticks: {
        task: TICK_TASK,
        from: tickTimes.length ? Math.min(...tickTimes) : Math.ceil((qwStarted + 5_000) / TICK_MS) * TICK_MS,
        to: end,
        everyMs: TICK_MS,
        graceMs: ACK_WAIT_S * 1000,
      },
    };
    return { report: check(history), plan: p, hit, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const q of procs) q.signal("SIGCONT");
    await Promise.all(procs.map((q) => q.stop(10_000)));
    proxy?.kill("SIGKILL");
    await qwc.close().catch(() => {});
    await c.close();
    for (const n of nodes) await n.stop();
    for (const m of [...NODES, ...QWS]) net.heal(m);
  }
}
