/**
 * Where a worker's main thread spends its time per job: runs qw from source
 * under `bun --cpu-prof` on a pre-published backlog of no-op jobs, then ranks
 * the profile's functions by their samples (a sample's self time also holds
 * the idle time before it, so samples, not milliseconds, are counted) and
 * sums them by where the code lives: the NATS client, qw's intake, settling,
 * results, the Web Worker hand-off, native code.
 *
 *   bun scripts/cpu_profile.ts [jobs=100000] [qw flags...]
 *   bun scripts/cpu_profile.ts 100000 --no-results --no-events
 *
 * @module
 */

import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { client, NatsServer, out, ROOT, tempDir } from "./_harness.ts";
import { emptyAt, prepare } from "./_bench_raw.ts";

const n = Number(process.argv[2] ?? 100_000);
const flags = process.argv.slice(3);
if (!Number.isInteger(n) || n < 1) {
  out(`cpu_profile: the job count must be a positive integer: current value is '${process.argv[2]}'`);
  process.exit(2);
}

/** Where a profiled function lives, by its location. */
export function area(fn: string, loc: string): string {
  if (loc.includes("@nats-io/")) return "NATS client";
  if (loc.includes("src/worker/intake/") || loc.includes("src/worker/keys/") || loc.includes("src/core/job/")) return "qw intake";
  if (loc.includes("src/worker/settle/") || loc.includes("src/client/buckets/") || loc.includes("src/client/_pipelined")) {
    return "qw settle + results";
  }
  if (loc.includes("src/worker/pool/")) return "qw pool";
  if (loc.includes("src/")) return "qw other";
  if (fn === "postMessage") return "Web Worker hand-off";
  if (loc.startsWith("[native")) return "native (encode, decode, socket writes, JSON)";
  return "runtime";
}

const server = await NatsServer.start();
const c = await client(server.url);
const tmp = tempDir("qw-prof-");
try {
  await prepare(c, "PROF", n);
  const t0 = Date.now();
  const p = spawn(join(ROOT, "node_modules/.bin/bun"), [
    "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${tmp.path}`, join(ROOT, "cli.ts"),
    "--stream", "PROF", "--tasks", join(ROOT, "scripts/fixtures/bench_tasks.ts"), "--server", server.url,
    "--concurrency", "2", "--log-level", "warning", ...flags,
  ], { stdio: ["ignore", "inherit", "inherit"] });
  await emptyAt(c, "PROF");
  const drained = Date.now() - t0;
  p.kill("SIGTERM");
  await new Promise((r) => p.on("exit", r));
  const md = readdirSync(tmp.path).find((f) => f.endsWith(".md"));
  if (!md) throw new Error("bun wrote no profile");
  const text = readFileSync(join(tmp.path, md), "utf8");
  const fns = [...text.matchAll(/### `([^`]*)`\n`([^`]*)` \| Self: [^|]*\| Total: [^|]*\| Samples: (\d+)/g)]
    .map(([, fn, loc, s]) => ({ fn, loc: loc.replace(ROOT + "/", ""), samples: Number(s) }));
  const total = fns.reduce((a, f) => a + f.samples, 0);
  const pct = (s: number) => `${(100 * s / total).toFixed(1).padStart(5)} %`;
  out(`${n} jobs, qw ${flags.join(" ") || "(defaults)"} c=2, from source: drained ${drained} ms after start; ${total} samples`);
  out("by area:");
  const areas = new Map<string, number>();
  for (const f of fns) areas.set(area(f.fn, f.loc), (areas.get(area(f.fn, f.loc)) ?? 0) + f.samples);
  for (const [a, s] of [...areas].sort((x, y) => y[1] - x[1])) out(`  ${pct(s)}  ${a}`);
  out("top functions:");
  for (const f of fns.sort((x, y) => y.samples - x.samples).slice(0, 25)) out(`  ${pct(f.samples)}  ${f.fn}  ${f.loc}`);
} finally {
  await c.nc.close();
  await server.stop();
  tmp.cleanup();
}
process.exit(0);
