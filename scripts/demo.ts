// The demo: starts a local nats-server, runs dist/qw on examples/tasks.ts,
// enqueues sample jobs (and a bad one), and prints what happened to each.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { NatsServer } from "../tests/helpers/nats_server.ts";

const root = resolve(import.meta.dirname!, "..");
const stream = "demo";
const say = (s: string) => console.log(`\x1b[1m==>\x1b[0m ${s}`);

say("starting a local nats-server with JetStream");
const srv = await NatsServer.start();
say(`nats-server on ${srv.url}`);

say(`starting: dist/qw --stream ${stream} --tasks examples/tasks.ts --server ${srv.url} --concurrency 2`);
const qw = spawn(resolve(root, "dist/qw"), ["--stream", stream, "--tasks", "examples/tasks.ts", "--server", srv.url, "--concurrency", "2"], {
  cwd: root,
  stdio: ["ignore", "inherit", "pipe"],
});
let log = "";
qw.stderr!.on("data", (d) => {
  log += d;
  for (const line of String(d).trimEnd().split("\n")) if (!/add\[bulk-/.test(line)) console.log(`   [qw] ${line}`);
});
const deadline = Date.now() + 15_000;
while (!log.includes("worker started")) {
  if (Date.now() > deadline || qw.exitCode !== null) throw new Error(`qw did not start:\n${log}`);
  await new Promise((r) => setTimeout(r, 50));
}

const nc = await connect({ servers: srv.url });
const js = jetstream(nc);
const jobs: Array<[string, string, unknown[]]> = [
  ["job-add", "add", [2, 3]],
  ["job-resize", "resize", [1920, 1080]],
  ["job-flaky", "flaky", ["world"]],
  ["job-sqrt", "sqrt", [16]],
  ["job-sqrt-neg", "sqrt", [-1]],
];
say("enqueueing 5 sample jobs, one bad message, and 2,000 'add' jobs");
for (const [id, task, args] of jobs) await js.publish(`${stream}.${task}`, JSON.stringify({ args }), { msgID: id });
await js.publish(`${stream}.add`, "this is not JSON", { msgID: "job-bad" });
const t0 = Date.now();
await Promise.all(Array.from({ length: 2000 }, (_, i) => js.publish(`${stream}.add`, JSON.stringify({ args: [i, i] }), { msgID: `bulk-${i}` })));

const kv = await new Kvm(nc).open(`qw_${stream}_results`);
const final = (s?: string) => s === "SUCCESS" || s === "FAILURE";
const waitFor = async (id: string) => {
  for (const end = Date.now() + 20_000; Date.now() < end;) {
    const e = await kv.get(id);
    const rec = e?.operation === "PUT" ? e.json<Record<string, unknown>>() : null;
    if (rec && final(rec.state as string)) return rec;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
};
await waitFor("bulk-1999");
const bulkSeconds = (Date.now() - t0) / 1000;
say("results (from the KV bucket qw_demo_results):");
for (const [id, task] of jobs) {
  const r = await waitFor(id);
  const shown = r === null
    ? "no result (timed out)"
    : r.state === "SUCCESS"
    ? `SUCCESS ${JSON.stringify(r.result)} (retries ${r.retries})`
    : `FAILURE ${(r.error as { name: string; message: string }).name}: ${(r.error as { message: string }).message}`;
  console.log(`   ${id.padEnd(14)} ${task.padEnd(7)} ${shown}`);
}
const jsm = await jetstreamManager(nc);
const dlq = await jsm.streams.info(`${stream}_dlq`);
say(`dead letters in '${stream}_dlq': ${dlq.state.messages} (the bad message and sqrt(-1))`);
say(`2,000 'add' jobs done in ${bulkSeconds.toFixed(2)}s (including publishing)`);

say("stopping qw with SIGTERM (graceful) and the server");
qw.kill("SIGTERM");
await new Promise((r) => qw.on("exit", r));
await nc.close();
await srv.stop();
say("done");
