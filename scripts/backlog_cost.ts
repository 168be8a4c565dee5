/**
 * What a job costs qw defaults (c=2) on backlogs of different sizes, the
 * sizes in turn on one nats-server ($NATS_SERVER_BIN), each run a fresh
 * `dist/qw` ($QW_BIN picks another binary, to compare two builds), measured as
 * scripts/bench.ts measures a throughput run (`qwThroughput()`): jobs/s, and
 * CPU microseconds per job by thread group and of nats-server. The bench's
 * 1,000,000-job row is one run; this repeats it beside the 100,000 run it is
 * judged against.
 *
 *   bun scripts/backlog_cost.ts [sizes=100000,1000000] [reps=3]
 *
 * @module
 */

import { client, NatsServer, out, QW_BIN, tempDir } from "./_harness.ts";
import { serverVersion } from "../tests/helpers/nats_server.ts";
import { qwThroughput } from "./_bench_qw.ts";

const sizes = (process.argv[2] ?? "100000,1000000").split(",").map(Number);
const reps = Number(process.argv[3] ?? 3);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(reps) || reps < 1) {
  out(
    `backlog_cost: sizes are positive integers separated by commas, reps a positive integer: current values are '${
      process.argv[2]
    }' and '${process.argv[3]}'`,
  );
  process.exit(2);
}

const server = await NatsServer.start();
const c = await client(server.url);
const tmp = tempDir("qw-backlog-");
out(`${QW_BIN}, qw defaults c=2, CPU microseconds per job; nats-server ${serverVersion().join(".")}`);
const env = { c, url: server.url, tmp: tmp.path, natsPid: server.pid };
try {
  let k = 0;
  for (let rep = 1; rep <= reps; rep++) {
    for (const n of sizes) {
      const { jobsPerS, peakRssMb, cpu } = await qwThroughput(env, `BL${++k}`, n, { concurrency: 2 });
      const us = (ms: number) => ((ms * 1000) / n).toFixed(1);
      const t = cpu?.threads;
      const parts = cpu && t
        ? `main ${us(t.main)}  Web Workers ${us(t.workers)}  JIT ${us(t.jit)}  GC ${us(t.gc)}  other ${us(t.other)}  ` +
          `nats-server ${us(cpu.broker)}  total ${us(cpu.process + cpu.broker)}`
        : "no CPU figures (no /proc?)";
      out(
        `${n.toLocaleString("en-US").padStart(9)} jobs (${rep}/${reps}): ${Math.round(jobsPerS)} jobs/s, ${parts}, ` +
          `peak RSS ${peakRssMb.toFixed(1)} MB`,
      );
    }
  }
} finally {
  await c.close();
  await server.stop();
  tmp.cleanup();
}
process.exit(0);
