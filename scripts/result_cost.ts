// Issue 25's results target, alone: qw defaults (results on, events off) against the plain consumer writing one
// result per message (one pipelined KV create each), CPU per job (qw or the consumer, plus nats-server) and jobs/s,
// medians of REPS runs taken in turn, and qw --no-results (the difference is what results cost qw). Needs dist/qw.
//   bun scripts/result_cost.ts [JOBS] [REPS]     (NATS_SERVER_BIN picks the server; QW_ACKS_LATE=1 adds acksLate)
import { client, NatsServer, tempDir } from "./_harness.ts";
import { qwThroughput } from "./_bench_qw.ts";
import { rawFresh } from "./_bench_raw.ts";
import { figureOf, type Sample } from "./_bench_stats.ts";

const N = Number(process.argv[2] ?? 20_000);
const REPS = Number(process.argv[3] ?? 3);
const server = await NatsServer.start();
const c = await client(server.url);
const tmp = tempDir("qw-result-cost");
const env = { c, url: server.url, tmp: tmp.path, natsPid: server.pid };
let no = 0;
const stream = (p: string) => `${p}${++no}`;
const qw = (acksLate: boolean) => (n: number): Promise<Sample> =>
  qwThroughput(env, stream("QW"), n, { concurrency: 2, ...(acksLate ? { acksLate: true } : {}) });
const rows: [string, (n: number) => Promise<Sample>][] = [
  ["plain consumer + 1 KV create/msg (reference)", (n) => rawFresh(c, server.url, server.pid, stream("RAW"), n, "wire")],
  ["qw defaults (1 create/result)", qw(false)],
  ["qw --no-results (what results cost qw: the difference)", (n) => qwThroughput(env, stream("QWN"), n, { concurrency: 2, results: false })],
];
if (process.env.QW_ACKS_LATE) {
  rows.push(["qw --acks-late", qw(true)]);
}
const samples: Sample[][] = rows.map(() => []);
for (let rep = 0; rep < REPS; rep++) {
  for (const [i, [, run]] of rows.entries()) samples[i].push(await run(N));
}
console.log(`nats-server ${c.nc.info?.version}, ${N} jobs, median of ${REPS}, load ${(await import("node:os")).loadavg()[0].toFixed(1)}:`);
const ref = figureOf(samples[0], N);
for (const [i, [name]] of rows.entries()) {
  const f = figureOf(samples[i], N);
  const x = i === 0 ? "" : `  x ref: ${(f.jobsPerS / ref.jobsPerS).toFixed(2)} jobs/s, ${(ref.cpuUs! / f.cpuUs!).toFixed(2)} CPU`;
  console.log(`  ${name.padEnd(48)} ${f.jobsPerS.toFixed(0).padStart(7)} jobs/s  ${f.cpuUs?.toFixed(1).padStart(6)} µs/job (broker ${(f.cpu!.broker * 1000 / N).toFixed(1)})${x}`);
  const t = f.cpu?.threads;
  const us = (ms: number) => (ms * 1000 / N).toFixed(1);
  if (t) console.log(`      main ${us(t.main)}, Web Workers ${us(t.workers)}, JIT ${us(t.jit)}, GC ${us(t.gc)}, other ${us(t.other)} µs/job`);
}
await c.nc.close();
await server.stop();
tmp.cleanup();
