/**
 * Process start to the first job run, as scripts/bench.ts measures it
 * (`startup()` of _bench_qw.ts: nothing made beforehand, qw creates the
 * stream, the dead-letter stream and the results bucket), `STARTUP_RUNS`
 * times (default 5) against a fresh nats-server ($NATS_SERVER_BIN), with the
 * median. Run: `bun scripts/startup_cost.ts`.
 *
 * @module
 */

import { client, NatsServer, out, percentile, tempDir } from "./_harness.ts";
import { startup } from "./_bench_qw.ts";

const runs = Number(process.env.STARTUP_RUNS ?? 5);
const server = await NatsServer.start();
const c = await client(server.url);
const tmp = tempDir("qw-startup-");
try {
  const streams = Array.from({ length: runs }, (_, i) => `UP${i + 1}`);
  const { startMs } = await startup({ c, url: server.url, tmp: tmp.path }, streams, { concurrency: 2 });
  out(`start to first job (qw defaults c=2), ${runs} runs: ${startMs.map((ms) => ms.toFixed(0)).join(", ")} ms; median ${percentile(startMs, 50).toFixed(0)} ms`);
} finally {
  await c.close();
  await server.stop();
  tmp.cleanup();
}
