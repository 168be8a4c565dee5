// A rate limit shared by the processes of a stream (README, "Rate limits across processes"): N dist/qw processes
// (4 by default) run a task of `rateLimit: RATE, rateLimitScope: "stream"` with more jobs waiting than the limit lets
// through for S seconds (30); prints the starts over the run against the limit, the busiest second, each process's
// share, and the claims on the server per job. Needs dist/qw.
//   bun scripts/rate_across.ts [PROCS] [SECONDS] [RATE]     e.g. bun scripts/rate_across.ts 4 30 100
//   (NATS_SERVER_BIN picks the server; default nats-server on PATH)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { spawnQw } from "../tests/helpers/cli.ts";
import { qwStarted, qwStop } from "../tests/helpers/suite.ts";
import { serverFeatures } from "../src/core/server_features.ts";

const PROCS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 30);
const RATE = Number(process.argv[4] ?? 100);
const srv = await NatsServer.start();
const nc = await connect({ servers: srv.url });
const dir = mkdtempSync(join(tmpdir(), "qw-rate-across-"));
const stream = "across";
const log = join(dir, "starts.log");
writeFileSync(log, "");
const args = ["--stream", stream, "--tasks", "tests/fixtures/tasks/limited_shared.ts", "--server", srv.url, "--concurrency", "4"];
const qws = Array.from({ length: PROCS }, (_, i) => spawnQw(args, { env: { QW_TEST_PROC: `p${i}`, QW_TEST_RATE: `${RATE}/s` } }));
await Promise.all(qws.map(qwStarted));
const js = jetstream(nc);
const jobs = Math.ceil(RATE * SECONDS * 1.3);
for (let i = 0; i < jobs; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, jobs - i) }, (_, j) => js.publish(`${stream}.tick`, JSON.stringify({ args: [log, `t${i + j}`] }))));
}
const rows = () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split(" "));
while (rows().length === 0) await new Promise((r) => setTimeout(r, 100));
const first = Math.min(...rows().map((r) => Number(r[1])));
await new Promise((r) => setTimeout(r, first + SECONDS * 1000 + 500 - Date.now()));
await Promise.all(qws.map(qwStop));
if (process.env.DEBUG === "2") for (const q of qws) console.log(q.output());
const all = rows().map(([, at, proc]) => ({ at: Number(at), proc })).filter((r) => r.at < first + SECONDS * 1000);
const times = all.map((r) => r.at).sort((a, b) => a - b);
let busiest = 0;
for (let i = 0, j = 0; i < times.length; i++) {
  while (times[j] < times[i] - 999) j++;
  busiest = Math.max(busiest, i - j + 1);
}
const want = RATE * SECONDS;
const jsm = await jetstreamManager(nc);
const counters = serverFeatures(nc.info?.version).counters;
const store = await jsm.streams.info(counters ? `qw_${stream}_rate` : `KV_qw_${stream}_rate`);
const claims = store.state.last_seq;
const share = [...Map.groupBy(all, (r) => r.proc)].map(([p, rs]) => `${p} ${rs.length}`).sort().join(", ");
console.log(`nats-server ${nc.info?.version} (${counters ? "counters" : "KV compare-and-set"}), ${PROCS} processes, ${RATE}/s shared, ${SECONDS} s:`);
console.log(`  starts ${all.length} of ${want} allowed (${((all.length / want - 1) * 100).toFixed(1)} %), busiest second ${busiest}`);
console.log(`  per process: ${share}`);
console.log(`  claims on the server: ${claims} (${(claims / all.length).toFixed(3)} per job)`);
await nc.close();
await srv.stop();
if (!process.env.DEBUG) rmSync(dir, { recursive: true, force: true });
else console.log(log);
