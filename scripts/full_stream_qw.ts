/**
 * The `stream-full` load of scripts/net_chaos.ts without network namespaces:
 * a work stream created as the harness does (work queue, `<stream>.>`, then
 * `max_bytes` and discard `new`), real `dist/qw` processes with the fixture
 * tasks of scripts/fixtures/net_tasks.ts (runs recorded outside qw), and a
 * producer that retries every refused publish. It prints how many jobs the
 * stream acknowledged that never started, what was left in the stream, and
 * any change of the stream's config while qw ran.
 *
 *   NATS_SERVER_BIN=/usr/sbin/nats-server bun scripts/full_stream_qw.ts     2.9.10: jobs lost (README, "Network faults")
 *   NATS_SERVER_BIN=.tools/bin/nats-server bun scripts/full_stream_qw.ts    2.15.3: none
 *
 * Options (env): N jobs (2000), RETRY (every RETRY-th acksLate job asks for a retry; 5, 0 for none), MAX_BYTES
 * (32768), QWS processes (1), FLOWS (0), CLUSTER=1 for a 3-node cluster with R replicas (1). Exits 1 when a job
 * was lost.
 *
 * @module
 */

import { join } from "node:path";
import { DiscardPolicy } from "@nats-io/jetstream";
import { connectClient } from "../src/client/client.ts";
import { chain, chord, group, sig } from "../src/core/flow.ts";
import {
  client,
  createStreams,
  FIXTURES,
  job,
  NatsServer,
  out,
  publishAll,
  queueState,
  QwProcess,
  readExecutions,
  sleep,
  startCluster,
  tempDir,
  waitDrained,
} from "./_harness.ts";

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const N = env("N", 2000);
const RETRY = env("RETRY", 5);
const MAX_BYTES = env("MAX_BYTES", 32_768);
const QWS = env("QWS", 1);
const FLOWS = env("FLOWS", 0);
const STREAM = "NF";

const tmp = tempDir("qw-full-stream-");
const log = join(tmp.path, "executions.log");
const cluster = process.env.CLUSTER ? await startCluster(3) : null;
const single = cluster ? null : await NatsServer.start();
const urls = cluster ? cluster.urls : [single!.url];
const c = await client(urls);
let lost = 0;
try {
  await createStreams(c.jsm, STREAM, { replicas: env("R", 1) });
  const cfg = (await c.jsm.streams.info(STREAM)).config;
  await c.jsm.streams.update(STREAM, { ...cfg, max_bytes: MAX_BYTES, discard: DiscardPolicy.New });
  const before = (await c.jsm.streams.info(STREAM)).config;
  // A quarter early ack, the rest acksLate, every RETRY-th of those retrying once: the harness's mix.
  const rand = (i: number) => ((Math.imul(i + 1, 2654435761) ^ 1) >>> 0) / 4294967296;
  const msgs = Array.from({ length: N }, (_, i) => {
    const task = rand(i) < 0.25 ? "early" : RETRY > 0 && i % RETRY === 0 ? "flaky" : "late";
    return job(STREAM, task, `j${i}`, [100]);
  });
  let refused = 0;
  let duplicates = 0;
  const publishing = publishAll(c.js, msgs, { onError: () => refused++, onDuplicate: () => duplicates++ });
  const qwc = await connectClient({ servers: urls, stream: STREAM });
  const flowing = (async () => {
    for (let i = 0; i < FLOWS; i++) {
      const flow = i % 2 === 0
        ? chord(group(...Array.from({ length: 8 }, (_, k) => sig("fsq", [k + i]))), sig("ftotal"))
        : chain(sig("fsq", [2]), sig("fsq"), sig("fsq"));
      for (let attempt = 0;; attempt++) {
        try {
          await qwc.enqueueFlow(flow, { id: `f${i}` });
          break;
        } catch {
          refused++;
          await sleep(Math.min(1000, 50 * 2 ** attempt));
        }
      }
    }
  })();
  const args = ["--stream", STREAM, "--tasks", join(FIXTURES, "net_tasks.ts"), "--server", urls.join(","), "--log-level", "warning", "--concurrency", "4", "--ack-wait", "5"];
  const qws = Array.from({ length: QWS }, (_, i) => QwProcess.start(args, { logFile: join(tmp.path, `qw${i}.log`), env: { QW_CHAOS_LOG: log } }));
  const seqs = await publishing;
  await flowing;
  await qwc.close();
  await waitDrained(c.jsm, STREAM, `qw_${STREAM}`, { timeoutMs: 60_000 }).catch((e) => out((e as Error).message));
  await sleep(1_000);
  const state = await queueState(c.jsm, STREAM, `qw_${STREAM}`);
  await Promise.all(qws.map((q) => q.stop()));
  const started = new Set(readExecutions(log).filter((e) => e.kind === "S").map((e) => e.id));
  const missing = msgs.flatMap((m, i) => (started.has(m.headers!["Qw-Id"]) ? [] : [`${m.headers!["Qw-Id"]}@${seqs[i]}`]));
  lost = missing.length;
  const after = (await c.jsm.streams.info(STREAM)).config;
  const changed = (Object.keys({ ...before, ...after }) as (keyof typeof after)[])
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k} ${JSON.stringify(before[k])} -> ${JSON.stringify(after[k])}`);
  out(`nats-server ${c.nc.info?.version}, ${cluster ? `3-node cluster, R${env("R", 1)}` : "one server"}, ${QWS} qw, ${N} jobs, ${FLOWS} flows, max_bytes ${MAX_BYTES} (discard new)`);
  out(`refused ${refused}, answered as duplicates ${duplicates}, left ${JSON.stringify(state)}, config changed: ${changed.join("; ") || "nothing"}`);
  out(`jobs stored and never started: ${lost}${lost ? ` (job@seq) ${missing.slice(0, 12).join(" ")}${lost > 12 ? " ..." : ""}` : ""}`);
} finally {
  await c.close();
  await (cluster ?? single!).stop();
  tmp.cleanup();
}
process.exit(lost > 0 ? 1 : 0);
