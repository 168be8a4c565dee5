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
import { keyFor, type ResultRecord } from "../../src/client/buckets/result_store.ts";
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
import { check, type FaultSpan, type History, type Published, type RunReport } from "./checker.ts";
import { freeze, type Net, thaw } from "./netns.ts";
import { type NsNode, startNsCluster } from "./ns_cluster.ts";
import { ACK_WAIT_S, type Plan, plan, type Scenario } from "./scenarios.ts";

export const NODES = ["n1", "n2", "n3"];
export const QWS = ["q1", "q2", "q3"];
const STREAM = "NF";
const CONSUMER = `qw_${STREAM}`;
const DRAIN_TIMEOUT_MS = 180_000;

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

/** Run scenario `s` once under `seed`, its files in `dir`. */
export async function runOnce(net: Net, s: Scenario, seed: number, dir: string): Promise<RunResult> {
  const p = plan(s, seed);
  const log = join(dir, "executions.log");
  const t0 = Date.now();
  const nodes = await startNsCluster(net, NODES, join(dir, "nodes"));
  const urls = nodes.map((n) => n.url);
  const c = await client(urls);
  const procs: QwProcess[] = [];
  let proxy: ChildProcess | null = null;
  const faults: FaultSpan[] = [];
  let hit = "";
  try {
    await createStreams(c.jsm, STREAM, { replicas: 3 });
    // R3 like the stream: qw would create an R1 bucket, lost with its one node.
    if (s.results) await new Kvm(c.nc).create(`qw_${STREAM}_results`, { ttl: 86_400_000, history: 1, replicas: 3 });
    const rand = (i: number) => ((Math.imul(i + 1, 2654435761) ^ seed) >>> 0) / 4294967296;
    const published: Published[] = Array.from({ length: s.jobs }, (_, i) => ({ id: `j${i}`, mode: rand(i) < s.earlyShare ? "early" : "late" }));
    const msgs = published.map((j) => job(STREAM, j.mode, j.id, [s.jobMs]));
    const half = Math.floor(msgs.length / 2);
    await publishAll(c.js, msgs.slice(0, half));
    const f = s.fault;
    let victimUrls = urls.join(",");
    if (f.kind === "lossy-qw") [proxy, victimUrls] = await startDelayProxy(net, QWS[p.victim], p, f.delayMs, f.jitterMs);
    for (let i = 0; i < s.qws; i++) {
      const args = ["--stream", STREAM, "--tasks", join(FIXTURES, "chaos_tasks.ts"), "--server", i === p.victim ? victimUrls : urls.join(","),
        "--log-level", "warning", "--concurrency", "4", "--ack-wait", String(ACK_WAIT_S), ...(s.results ? [] : ["--no-results"]), ...(s.confirmAck ? ["--confirm-ack"] : [])];
      procs.push(QwProcess.start(args, { logFile: join(dir, `qw${i}.log`), env: { QW_CHAOS_LOG: log }, netns: net.ns(QWS[i]) }));
    }
    // Each finished job writes an S and an E line.
    if (!await until(() => countLines(log) >= 2 * half * p.startAt, 120_000, 20)) throw new Error("No progress before the fault");
    const rest = publishAll(c.js, msgs.slice(half));
    const span: FaultSpan = { name: f.kind, from: nowMs(), to: null, victims: [] };
    faults.push(span);
    const victim = procs[p.victim];
    if (f.kind === "cut-qw") {
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
        hit += ` (leader during the split ${during}, after ${(await leaderNode(c, nodes)).name})`;
      }
    }
    span.to = nowMs();
    progress(`${s.name}: fault on ${hit} for ${(p.durationMs / 1000).toFixed(1)} s healed at ${countLines(log) >> 1} runs`);
    await rest;
    let drainedAt: number | null = null;
    try {
      await waitDrained(c.jsm, STREAM, CONSUMER, { timeoutMs: DRAIN_TIMEOUT_MS });
      drainedAt = nowMs();
    } catch (e) {
      progress(`${s.name}: ${(e as Error).message}`);
    }
    // A short settle, so late acks and result writes land before the final read.
    await sleep(1_000);
    const final = await settled("the queue's state", () => queueState(c.jsm, STREAM, CONSUMER));
    const dead = await settled("the dead letters", () => readDeadLetters(c, STREAM));
    const results = s.results ? await settled("the results", () => readResultStates(c, published.map((j) => j.id))) : undefined;
    const qwExits = procs.filter((q) => !q.alive).map((q) => `qw ${q.pid} exited ${JSON.stringify(q.exit)}: ${(q.logLines(/\S/).pop() ?? "").slice(0, 160)}`);
    const history: History = {
      published, execs: readExecutions(log), deadIds: dead.flatMap((d) => (d.id ? [d.id] : [])), results, faults,
      ackWaitMs: ACK_WAIT_S * 1000, final, drainedAt, qwExits,
    };
    return { report: check(history), plan: p, hit, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const q of procs) q.signal("SIGCONT");
    await Promise.all(procs.map((q) => q.stop(10_000)));
    proxy?.kill("SIGKILL");
    await c.close();
    for (const n of nodes) await n.stop();
    for (const m of [...NODES, ...QWS]) net.heal(m);
  }
}
