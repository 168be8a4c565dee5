// How long a priority-9 job waits behind a backlog of priority-0 jobs (README, "Priorities"): a worker at
// concurrency 2 is busy with N priority-0 jobs (20 ms each) all stored before; then a priority-9 job is enqueued,
// R times, and the time from its publish to its start (read from the record its task writes) is printed.
// Needs dist/qw.
//   bun scripts/priority_latency.ts [N] [R]      (NATS_SERVER_BIN picks the server; default nats-server on PATH)
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { spawnQw } from "../tests/helpers/cli.ts";
import { connectClient } from "../src/client/client.ts";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 50_000);
const R = Number(process.argv[3] ?? 10);
const JOB_MS = 20;
const srv = await NatsServer.start();
const nc = await connect({ servers: srv.url });
const stream = "prio";
const file = join(tmpdir(), `qw_priority_latency_${process.pid}.jsonl`);
const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/pause.ts", "--server", srv.url, "--concurrency", "2"]);
while (!qw.output().includes("worker started")) await new Promise((r) => setTimeout(r, 100));
const client = await connectClient({ servers: srv.url, stream });
const t0 = Date.now();
// Pipelined publishes, 1,000 in flight at a time.
for (let i = 0; i < N; i += 1000) {
  const n = Math.min(1000, N - i);
  await Promise.all(Array.from({ length: n }, () => client.enqueue("slow", [file, JOB_MS], { priority: 0 })));
}
const jsm = await jetstreamManager(nc);
const waiting = async () => (await jsm.consumers.info(stream, `qw_${stream}_p0`)).num_pending;
console.log(`enqueued ${N} priority-0 jobs in ${Date.now() - t0} ms; ${await waiting()} still waiting`);
const startOf = (id: string): number | null => {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.includes(`"id":"${id}"`));
  return line ? JSON.parse(line).t : null;
};
const waits: number[] = [];
for (let k = 0; k < R; k++) {
  await new Promise((r) => setTimeout(r, 250 + Math.random() * 250));
  const id = `urgent-${k}`;
  const sent = Date.now();
  await client.enqueue("ok", [file], { priority: 9, id });
  let at: number | null = null;
  while ((at = startOf(id)) === null) await new Promise((r) => setTimeout(r, 5));
  waits.push(at - sent);
}
const sorted = [...waits].sort((a, b) => a - b);
console.log(`priority-9 job, publish to start, with ${await waiting()} priority-0 jobs waiting at concurrency 2 (${JOB_MS} ms each):`);
console.log(`  each: ${waits.join(", ")} ms`);
console.log(`  median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`);
process.kill(qw.pid!, "SIGKILL");
await new Promise((r) => qw.on("exit", r));
await client.close();
await nc.close();
await srv.stop();
rmSync(file, { force: true });
