// What the counts that survive restarts cost (README "Dashboard"): the work
// per job in the worker (counting an event in memory), and the write every
// 5 s per process (one KV update of its record), on a local nats-server.
//   bun scripts/stats_cost.ts [EVENTS]
import { connect } from "@nats-io/transport-node";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { openStats, StatsWriter } from "../src/ops/history/stats_writer.ts";
import type { QwEvent } from "../src/core/events.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const srv = await NatsServer.start();
const nc = await connect({ servers: srv.url });
try {
  const kv = await openStats(nc, "cost");
  const w = new StatsWriter(kv, { stream: "cost", name: "bench:1" });
  const events: QwEvent[] = Array.from({ length: 20 }, (_, i) => ({
    type: i % 5 === 0 ? "job.failed" : "job.succeeded", ms: 1, error: { name: "E", message: "m" }, id: `j${i}`, task: `task${i}`, retries: 0,
    deliveryCount: 1, seq: i,
  } as QwEvent));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) w.listener(events[i % events.length]);
  const perJob = ((performance.now() - t0) * 1e6) / n;
  await w.flush();
  const flushes = 200;
  const t1 = performance.now();
  for (let i = 0; i < flushes; i++) await w.flush();
  const perFlush = (performance.now() - t1) / flushes;
  const size = (await kv.get("bench=3a1"))?.value.length ?? 0;
  console.log(`counting: ${perJob.toFixed(0)} ns per job (${n} events, 20 tasks)`);
  console.log(`record write: ${perFlush.toFixed(2)} ms each, ${size} bytes (20 tasks, 60 chart slots at most), once per 5 s per process`);
} finally {
  await nc.close();
  await srv.stop();
}
