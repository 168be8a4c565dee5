// What pausing one task costs (README, "Pause and resume"): N jobs of a paused task are parked on the
// delayed subject; prints the deliveries a second on the delayed consumer while they wait, and how long
// after `qw resume --task` they all ran. Needs dist/qw.
//   bun scripts/pause_cost.ts [N]        (NATS_SERVER_BIN picks the server; default nats-server on PATH)
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { runQw, spawnQw } from "../tests/helpers/cli.ts";
import { connectClient } from "../src/client/client.ts";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 1000);
const srv = await NatsServer.start();
const nc = await connect({ servers: srv.url });
const stream = "cost";
const file = join(tmpdir(), `qw_pause_cost_${process.pid}.jsonl`);
const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/pause.ts", "--server", srv.url, "--concurrency", "2"]);
while (!qw.output().includes("worker started")) await new Promise((r) => setTimeout(r, 100));
const p = await runQw(["pause", "--stream", stream, "--task", "ok", "--server", srv.url]);
console.log(p.stdout.trim());
const client = await connectClient({ servers: srv.url, stream });
const t0 = Date.now();
await Promise.all(Array.from({ length: N }, () => client.enqueue("ok", [file])));
const jsm = await jetstreamManager(nc);
const delayed = () => jsm.consumers.info(stream, `qw_${stream}_delayed`);
// Wait until all are parked.
for (;;) {
  const i = await jsm.streams.info(stream, { subjects_filter: `${stream}.>` });
  if ((i.state.subjects?.[`${stream}._delayed.ok`] ?? 0) >= N) break;
  await new Promise((r) => setTimeout(r, 200));
}
console.log(`parked ${N} jobs in ${Date.now() - t0} ms`);
await new Promise((r) => setTimeout(r, 3000));
const a = await delayed();
const ta = Date.now();
await new Promise((r) => setTimeout(r, 10_000));
const b = await delayed();
const tb = Date.now();
const rate = ((b.delivered.consumer_seq - a.delivered.consumer_seq) * 1000) / (tb - ta);
console.log(`delayed consumer deliveries while paused: ${rate.toFixed(0)}/s for ${N} parked jobs`);
const tr = Date.now();
await runQw(["resume", "--stream", stream, "--task", "ok", "--server", srv.url]);
const count = () => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
};
while (count() < N) await new Promise((r) => setTimeout(r, 50));
console.log(`all ${N} ran ${Date.now() - tr} ms after resume (${count()} runs)`);
process.kill(qw.pid!, "SIGTERM");
await new Promise((r) => qw.on("exit", r));
await client.close();
await nc.close();
await srv.stop();
rmSync(file, { force: true });
