// Per-key concurrency's fairness at the scale (README, "Per-key concurrency"): one key with BIG waiting
// jobs and 20 keys with 5 each, all enqueued before a dist/qw starts; prints how many of the big key's jobs started
// before the last small-key job, the deliveries, and the jobs per second once only the big key is left.
//   bun scripts/key_fairness.ts [BIG=10000] [CONCURRENCY=4]   (NATS_SERVER_BIN picks the server; needs dist/qw)
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { runQw, spawnQw } from "../tests/helpers/cli.ts";
import { connectClient } from "../src/client/client.ts";

const BIG = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = process.argv[3] ?? "4";
const srv = await NatsServer.start();
const stream = "fair";
const file = join(mkdtempSync(join(tmpdir(), "qw-fair-")), "runs.jsonl");
await runQw(["init", "--stream", stream, "--server", srv.url]);
const client = await connectClient({ servers: srv.url, stream });
const jobs = [
  ...Array.from({ length: BIG }, () => ({ task: "slot", args: [file, "big", 2], options: { concurrencyKey: "big" } })),
  ...Array.from({ length: 100 }, (_, i) => ({ task: "slot", args: [file, `s${i % 20}`, 2], options: { concurrencyKey: `s${i % 20}` } })),
];
for (let i = 0; i < jobs.length; i += 1000) await client.enqueueMany(jobs.slice(i, i + 1000));
console.log(`nats-server ${client.nc.info?.version}: ${BIG} jobs of key "big", then 20 keys x 5, waiting; qw --concurrency ${CONCURRENCY}, limit 2 per key`);
type Run = { t: number; note: string; deliveryCount: number };
const starts = (): Run[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Run).filter((r) => r.note.startsWith("start"));
  } catch {
    return [];
  }
};
const t0 = Date.now();
const w = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/keyed.ts", "--server", srv.url, "--concurrency", CONCURRENCY]);
while (starts().filter((r) => r.note !== "start big").length < 100 && Date.now() - t0 < 300_000) await new Promise((r) => setTimeout(r, 200));
const tSmall = Date.now();
await new Promise((r) => setTimeout(r, 10_000));
const all = starts().sort((a, b) => a.t - b.t);
const last = all.findLastIndex((r) => r.note !== "start big");
const bigBefore = all.slice(0, last).filter((r) => r.note === "start big").length;
const bigAfter = all.filter((r) => r.note === "start big" && r.t > tSmall).length;
console.log(`  every small-key job started after ${bigBefore} of the big key's jobs (the 1,000th must not come first)`);
console.log(`  last small-key job started ${tSmall - t0} ms after qw was spawned`);
console.log(`  most deliveries of any job: ${Math.max(...all.map((r) => r.deliveryCount))}`);
console.log(`  the big key alone: ${(bigAfter / 10).toFixed(0)} jobs/s`);
process.kill(w.pid!, "SIGTERM");
await new Promise((r) => w.on("exit", r));
await client.close();
await srv.stop();
