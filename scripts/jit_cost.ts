/**
 * What JavaScriptCore's optimising JIT tiers cost a cold `dist/qw`: the
 * pipeline alone (`--no-results --no-events`, early ack, c=2) on a backlog
 * of no-op jobs, with JSC's defaults, without the FTL tier
 * (`BUN_JSC_useFTLJIT=0`) and without the DFG tier (`BUN_JSC_useDFGJIT=0`),
 * in turn, printing each run's wall time (process start to the stream
 * empty) and its CPU per job by thread group and of nats-server (as
 * scripts/bench.ts reads them from /proc).
 *
 *   bun scripts/jit_cost.ts [jobs=20000] [reps=3]
 *
 * @module
 */

import { join } from "node:path";
import { client, NatsServer, out, QwProcess, tempDir } from "./_harness.ts";
import { dropStream, emptyAt, prepare } from "./_bench_raw.ts";
import { qwArgs } from "./_bench_qw.ts";
import { processCpu, threadCpu } from "./_bench_cpu.ts";

const n = Number(process.argv[2] ?? 20_000);
const reps = Number(process.argv[3] ?? 3);
const variants: Record<string, Record<string, string>> = {
  "JSC defaults": {},
  "no FTL": { BUN_JSC_useFTLJIT: "0" },
  "no DFG": { BUN_JSC_useDFGJIT: "0" },
};
const server = await NatsServer.start();
const c = await client(server.url);
const tmp = tempDir("qw-jit-");
out(`${n} jobs, qw --no-results --no-events c=2, CPU microseconds per job`);
try {
  let k = 0;
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, env] of Object.entries(variants)) {
      const stream = `JIT${++k}`;
      await prepare(c, stream, n);
      const nats0 = processCpu(server.pid)!;
      const flags = { concurrency: 2, results: false, events: false, logLevel: "warning" };
      const t0 = Date.now();
      const qw = QwProcess.start(qwArgs(stream, server.url, flags), {
        logFile: join(tmp.path, `${stream}.log`),
        env: { ...env, QW_BENCH_LOG: join(tmp.path, `${stream}.runs`) },
      });
      try {
        const end = await emptyAt(c, stream);
        const t = threadCpu(qw.pid)!;
        const nats = processCpu(server.pid)! - nats0;
        const us = (ms: number) => ((ms * 1000) / n).toFixed(1);
        const total = t.main + t.workers + t.jit + t.gc + t.other + nats;
        out(
          `${name.padEnd(13)} wall ${end - t0} ms  main ${us(t.main)}  Web Workers ${us(t.workers)}  JIT ${
            us(t.jit)
          }  ` +
            `GC ${us(t.gc)}  other ${us(t.other)}  nats-server ${us(nats)}  total ${us(total)}`,
        );
      } finally {
        await qw.stop();
        await dropStream(c, stream);
      }
    }
  }
} finally {
  await c.close();
  await server.stop();
  tmp.cleanup();
}
process.exit(0);
