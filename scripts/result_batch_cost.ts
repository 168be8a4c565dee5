// What a stored result costs, written one KV create per result (qw today, and the bench's "1 result write per
// message" reference) or as atomic batches of creates (ADR-50, nats-server 2.12+, the bucket's stream with
// `allow_atomic`), each member still expecting last subject sequence 0 (the fence). N results per mode, on a fresh
// server; CPU per result = this process + nats-server, from /proc, over the writes alone.
//   bun scripts/result_batch_cost.ts [N] [batch sizes, comma-separated]   (NATS_SERVER_BIN picks the server)
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { createInbox, headers, type MsgHdrs } from "@nats-io/nats-core";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { processCpu } from "./_bench_cpu.ts";

const N = Number(process.argv[2] ?? 20_000);
const SIZES = (process.argv[3] ?? "8,32,128").split(",").map(Number);
const WINDOW = Number(process.env.WINDOW ?? 1000); // results in flight, as the bench's reference
const srv = await NatsServer.start();
const nc = await connect({ servers: srv.url });
const jsm = await jetstreamManager(nc);
const record = (id: string) => JSON.stringify({ id, task: "noop", state: "SUCCESS", result: null, retries: 0, deliveryCount: 1, worker: "w", finishedAt: Date.now() });

async function bucket(name: string): Promise<string> {
  await new Kvm(nc).create(name, { history: 1, ttl: 86_400_000 });
  const si = await jsm.streams.info(`KV_${name}`);
  await jsm.streams.update(`KV_${name}`, { ...si.config, allow_atomic: true } as typeof si.config);
  return `$KV.${name}.`;
}

/** Replies by token on one subscription, as qw's pipelined creates. */
function replies() {
  const inbox = createInbox();
  const waiting = new Map<string, (text: string) => void>();
  const sub = nc.subscribe(`${inbox}.*`, { callback: (_e, m) => { const f = waiting.get(m.subject); waiting.delete(m.subject); f?.(m.string()); } });
  let n = 0;
  return {
    next(): [string, Promise<string>] {
      const reply = `${inbox}.${++n}`;
      return [reply, new Promise((r) => waiting.set(reply, r))];
    },
    close: () => sub.unsubscribe(),
  };
}

async function measure(name: string, run: () => Promise<void>): Promise<void> {
  const c0 = process.cpuUsage(), s0 = processCpu(srv.pid) ?? 0, t0 = performance.now();
  await run();
  const ms = performance.now() - t0, c1 = process.cpuUsage(c0), s1 = (processCpu(srv.pid) ?? 0) - s0;
  const client = (c1.user + c1.system) / N, server = (s1 * 1000) / N;
  console.log(`  ${name.padEnd(34)} ${(N / (ms / 1000)).toFixed(0).padStart(7)} results/s  CPU ${(client + server).toFixed(1).padStart(6)} µs/result (client ${client.toFixed(1)}, server ${server.toFixed(1)})`);
}

async function pipelined(prefix: string): Promise<void> {
  const r = replies();
  const h = headers();
  h.set("Nats-Expected-Last-Subject-Sequence", "0");
  const inFlight = new Set<Promise<string>>();
  for (let i = 0; i < N; i++) {
    while (inFlight.size >= WINDOW) await Promise.race(inFlight);
    const [reply, p] = r.next();
    nc.publish(prefix + `k${i}`, record(`k${i}`), { reply, headers: h });
    const q = p.then((t) => { inFlight.delete(q); if (t.includes('"error"')) throw new Error(t); return t; });
    inFlight.add(q);
  }
  await Promise.all(inFlight);
  r.close();
}

async function batched(prefix: string, size: number): Promise<void> {
  const r = replies();
  const inFlight = new Set<Promise<string>>();
  for (let start = 0; start < N; start += size) {
    while (inFlight.size * size >= WINDOW) await Promise.race(inFlight);
    const end = Math.min(N, start + size), id = crypto.randomUUID().slice(0, 22);
    let commit: Promise<string> | null = null;
    for (let i = start; i < end; i++) {
      const h: MsgHdrs = headers();
      h.set("Nats-Batch-Id", id);
      h.set("Nats-Batch-Sequence", String(i - start + 1));
      h.set("Nats-Expected-Last-Subject-Sequence", "0");
      if (i === end - 1) {
        h.set("Nats-Batch-Commit", "1");
        const [reply, p] = r.next();
        nc.publish(prefix + `k${i}`, record(`k${i}`), { reply, headers: h });
        commit = p;
      } else nc.publish(prefix + `k${i}`, record(`k${i}`), { headers: h });
    }
    const q = commit!.then((t) => { inFlight.delete(q); if (t.includes('"error"')) throw new Error(t); return t; });
    inFlight.add(q);
  }
  await Promise.all(inFlight);
  r.close();
}

/**
 * A fast-ingest batch (nats-server 2.14+, the stream with `allow_batched`): one batch for all N results, each
 * member a publish whose reply subject carries the batch, the flow, the gap mode ("ok": a member refused by its
 * fence is reported on its own and the rest go on), its batch sequence and the operation; the server acks every
 * `flow` members with the highest batch sequence it processed, and answers a refused member with its error.
 */
async function fastIngest(prefix: string, flow: number): Promise<void> {
  const inbox = createInbox(), batch = crypto.randomUUID().replaceAll("-", "").slice(0, 22);
  const reply = (seq: number, op: number) => `${inbox}.${batch}.${flow}.ok.${seq}.${op}.$FI`;
  let acked = 0, errors = 0, wake: (() => void) | null = null, done: ((t: string) => void) | null = null;
  const sub = nc.subscribe(`${inbox}.>`, {
    callback: (_e, m) => {
      const a = JSON.parse(m.string());
      if (a.type === "ack" && a.seq > acked) acked = a.seq;
      else if (a.type === "err") errors++;
      else if (a.batch) done?.(m.string());
      wake?.();
    },
  });
  const h = headers();
  h.set("Nats-Expected-Last-Subject-Sequence", "0");
  for (let i = 0; i < N; i++) {
    while (i - acked >= WINDOW) await new Promise<void>((r) => (wake = r));
    const seq = i + 1, op = i === 0 ? 0 : i === N - 1 ? 2 : 1;
    if (op === 2) {
      const end = new Promise<string>((r) => (done = r));
      nc.publish(prefix + `k${i}`, record(`k${i}`), { reply: reply(seq, op), headers: h });
      const t = await end;
      if (t.includes('"error"') || errors > 0) throw new Error(t);
    } else nc.publish(prefix + `k${i}`, record(`k${i}`), { reply: reply(seq, op), headers: h });
  }
  sub.unsubscribe();
}

async function fastBucket(name: string): Promise<string> {
  await new Kvm(nc).create(name, { history: 1, ttl: 86_400_000 });
  const si = await jsm.streams.info(`KV_${name}`);
  await jsm.streams.update(`KV_${name}`, { ...si.config, allow_batched: true } as typeof si.config);
  return `$KV.${name}.`;
}

console.log(`nats-server ${nc.info?.version}, ${N} results each, <= ${WINDOW} in flight:`);
for (let rep = 0; rep < 2; rep++) {
  await measure("one create per result", async () => pipelined(await bucket(`p${rep}`)));
  if (!process.env.NO_ATOMIC) for (const s of SIZES) await measure(`atomic batches of ${s}`, async () => batched(await bucket(`b${rep}_${s}`), s));
  for (const f of [16, 100]) await measure(`one fast-ingest batch, ack every ${f}`, async () => fastIngest(await fastBucket(`f${rep}_${f}`), f));
}
await nc.close();
await srv.stop();
