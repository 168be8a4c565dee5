/**
 * Speed of the real product, side by side in one run, as ratios: a plain
 * JetStream consumer with the same NATS client (the raw limit), the same
 * consumer writing one result per message (the limit of a worker that stores
 * results), `dist/qw` running a no-op task, and BullMQ as a peer, all on the
 * same machine and the same number of pre-published jobs. Then
 * enqueue-to-start latency at a steady 1,000 jobs/s, time from process start
 * to the first job, RSS idle and over a long run, and how soon a requeued job
 * runs again. Prints a table, where each run's CPU went (per thread group,
 * per job) and PASS/MISS per target. Timings are printed, never asserted.
 *
 * Every run is a process of its own, started cold: each qw run is a new
 * dist/qw, and the references (the plain consumer, with and without result
 * writes) run in a new process too (scripts/_raw_process.ts), so both pay the
 * same start: code compiled while the first jobs run. The same references
 * run warm inside the bench's own process as rows of their own, for scale,
 * and so does a plain consumer that takes its messages as qw's puller does
 * (one subscription, its own pull requests) rather than through the
 * client's consume(), the reference the targets are set against.
 *
 *   bun scripts/bench.ts                 (make bench) 20,000 and 100,000 jobs, best of 3, with peers
 *   bun scripts/bench.ts --quick         one run of each at 20,000 jobs, no peers: a fast check
 *   bun scripts/bench.ts --jobs 50000    one size instead of 20,000 and 100,000
 *   bun scripts/bench.ts --reps 1        one run per configuration instead of the best of 3
 *   bun scripts/bench.ts --no-peers      without BullMQ
 *
 * Throughput of a run = jobs / (time from the first job starting to the last
 * one done). For JetStream the stream is a WorkQueue, so it is empty exactly
 * when every message was acked; where results are stored, the run also waits
 * for every result to be in the bucket. For BullMQ it is the first job active
 * to the last one completed. Each repetition runs every configuration once,
 * in turn, and the best run of each is used: on a shared 2-core machine other
 * processes only ever make a run slower, and taking turns spreads their load.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { client, fmt, NatsServer, out, percentile, QW_BIN, tempDir } from "./_harness.ts";
import { type RawMode, rawFresh, RESULT_WINDOW, rawWarm } from "./_bench_raw.ts";
import type { RunCpu } from "./_bench_cpu.ts";
import { latency, qwArgs, type QwFlags, qwThroughput, requeue, rssOverRun, startup } from "./_bench_qw.ts";
import { type BullmqPeer, startBullmqPeer } from "./_peers.ts";
import { type CpuRow, printCpu, printTable, printTargets, type Row, type Target } from "./_bench_report.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => (argv.indexOf(name) >= 0 ? Number(argv[argv.indexOf(name) + 1]) : undefined);
const QUICK = flag("--quick");
const SIZES = value("--jobs") !== undefined ? [value("--jobs")!] : QUICK ? [20_000] : [20_000, 100_000];
const REPS = Math.max(1, value("--reps") ?? (QUICK ? 1 : 3));
const PEERS = !QUICK && !flag("--no-peers");
const SOAK = QUICK ? 50_000 : 200_000;
const C = 2; // the issue's concurrency for every qw throughput row
const CPUS = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const LAT_RATE = 1000;
const LAT_SECONDS = QUICK ? 5 : 10;
const FLAT = 1.5; // RSS at the end of the long run within this factor of the post-warm-up level
const progress = (s: string) => process.stderr.write(`  ... ${s}\n`);

if (!existsSync(QW_BIN)) {
  out(`bench: ${QW_BIN} is missing: run 'make build' first`);
  process.exit(2);
}

const tmp = tempDir("qw-bench-");
let streamNo = 0;
const newStream = (prefix: string) => `${prefix}${++streamNo}`;

const t0 = Date.now();
const server = await NatsServer.start();
const c = await client(server.url);
const env = { c, url: server.url, tmp: tmp.path, natsPid: server.pid };
const version = (() => {
  try {
    return readFileSync(join(server.dir, "server.log"), "utf8").match(/Version:\s+(\S+)/)?.[1] ?? "?";
  } catch {
    return "?";
  }
})();
const bunVersion = (globalThis as { Bun?: { version: string } }).Bun?.version;
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
out(
  `qw bench: ${
    SIZES.map((n) => n.toLocaleString("en-US")).join(" and ")
  } pre-published no-op jobs per throughput run, ` +
    `${REPS > 1 ? `best of ${REPS}` : "one run each"}${
      QUICK ? " (--quick)" : ""
    }; ${CPUS} CPUs; nats-server ${version} ` +
    `(file storage, loopback); ${bunVersion ? `bun ${bunVersion}` : "deno"}; load average ${loadavg()}`,
);

// The --events flag is new; a dist/qw without it publishes events unless told --no-events.
const help = (() => {
  try {
    return execFileSync(QW_BIN, ["--help"], { encoding: "utf8" });
  } catch {
    return "";
  }
})();
const EVENTS_ON: Pick<QwFlags, "events"> = help.includes("--events ") ? { events: true } : {};
/** The pipeline alone: no results, no events, no line per job (the --no-results rows, one latency run). */
const PIPELINE = { results: false, events: false, logLevel: "warning" } as const;

let peer: BullmqPeer | null = null;
try {
  if (PEERS) {
    progress("setting up the BullMQ peer");
    const p = await startBullmqPeer(join(tmp.path, "peers"), progress);
    if ("skipped" in p) out(`peers: skipped: ${p.skipped}`);
    else {
      peer = p;
      out(
        `peers: ${p.describe}; redis-server on loopback without persistence; each BullMQ run is its own node process`,
      );
    }
  } else out(`peers: skipped: ${QUICK ? "--quick" : "--no-peers"}`);

  interface Config {
    key: string;
    name: string;
    run(n: number): Promise<{ jobsPerS: number; peakRssMb?: number; cpu?: RunCpu | null }>;
  }
  const qwRow = (key: string, name: string, f: QwFlags): Config => ({
    key,
    name,
    run: (n) => qwThroughput(env, newStream("QW"), n, f),
  });
  // A reference in a fresh process of its own, or warm in the bench's own process (see _bench_raw.ts).
  const fresh = (key: string, name: string, mode: RawMode): Config => ({
    key,
    name,
    run: (n) => rawFresh(c, server.url, server.pid, newStream(key.toUpperCase()), n, mode),
  });
  const warm = (key: string, name: string, mode: RawMode): Config => ({
    key,
    name,
    run: async (n) => ({ jobsPerS: await rawWarm(c, newStream(key.toUpperCase()), n, mode) }),
  });
  const configs: Config[] = [
    fresh("raw", "raw consumer, early ack (the limit)", "ack"),
    warm("rawWarm", "  the same, warm: in the bench's own process", "ack"),
    fresh("rawLean", "  the same with its own pull requests, not consume()", "lean"),
    fresh("rawResults", `raw + 1 KV create/msg, <=${RESULT_WINDOW} in flight (the limit w/ results)`, "wire"),
    warm("rawResultsWarm", "  the same, warm: in the bench's own process", "wire"),
    fresh("rawResultsKv", "  the same through kv.create(), a request per write", "kv"),
    qwRow("defaults", `qw defaults, concurrency ${C} (no other flag)`, { concurrency: C }),
    qwRow("noResults", `qw --no-results --no-events, early ack, c=${C}`, { ...PIPELINE, concurrency: C }),
    qwRow("noResultsLate", `qw --no-results --no-events --acks-late, c=${C}`, {
      ...PIPELINE,
      concurrency: C,
      acksLate: true,
    }),
    qwRow("confirmAck", `qw --no-results --no-events --confirm-ack (strict at most once), c=${C}`, {
      ...PIPELINE,
      concurrency: C,
      confirmAck: true,
    }),
    qwRow("events", `qw --no-results ${EVENTS_ON.events ? "--events" : "(events on by default)"}, early ack, c=${C}`, {
      results: false,
      logLevel: PIPELINE.logLevel,
      ...EVENTS_ON, // no --no-events: a dist/qw without --events publishes them by default
      concurrency: C,
    }),
  ];
  if (peer) {
    const bull = peer;
    configs.push(
      {
        key: "bullInline",
        name: "BullMQ inline processor, concurrency 50",
        run: (n) => bull.run(n, { mode: "inline", concurrency: 50 }),
      },
      {
        key: "bullThreads",
        name: "BullMQ sandboxed, worker threads, concurrency 10",
        run: (n) => bull.run(n, { mode: "threads", concurrency: 10 }),
      },
    );
  }

  // Every configuration once per repetition, in turn; the best run of each.
  const results: Record<
    number,
    Record<string, { best: number; worst: number; peakRssMb?: number; cpu?: RunCpu | null }>
  > = {};
  for (const n of SIZES) {
    results[n] = {};
    for (let rep = 1; rep <= REPS; rep++) {
      for (const cfg of configs) {
        progress(`${n.toLocaleString("en-US")} jobs: ${cfg.name.trim()} (${rep}/${REPS})`);
        const r = await cfg.run(n);
        const cur = results[n][cfg.key];
        const best = r.jobsPerS > (cur?.best ?? 0);
        results[n][cfg.key] = {
          best: Math.max(cur?.best ?? 0, r.jobsPerS),
          worst: Math.min(cur?.worst ?? Infinity, r.jobsPerS),
          peakRssMb: Math.max(cur?.peakRssMb ?? 0, r.peakRssMb ?? 0) || undefined,
          cpu: best ? r.cpu : cur?.cpu, // of the run whose figure is shown
        };
      }
    }
  }

  const defaults: QwFlags = { concurrency: C };
  progress(`RSS over ${SOAK.toLocaleString("en-US")} jobs (qw defaults, c=${C})`);
  const soak = await rssOverRun(env, newStream("SOAK"), SOAK, defaults);
  // qw defaults at c=1 and c=2 (the targets), then the pipeline alone at c=2 in the same run, for
  // telling what results and logging add from what the machine's other load does to a p99.
  const latRuns: { name: string; flags: QwFlags }[] = [
    { name: "qw defaults c=1", flags: { concurrency: 1 } },
    { name: "qw defaults c=2", flags: { concurrency: 2 } },
    { name: "--no-results --no-events --log-level warning c=2", flags: { ...PIPELINE, concurrency: 2 } },
  ];
  const lat: (Awaited<ReturnType<typeof latency>> & { load: number })[] = [];
  for (const { name, flags } of latRuns) {
    progress(`latency at ${LAT_RATE} jobs/s for ${LAT_SECONDS} s, ${name}`);
    const l = await latency(env, newStream("LAT"), { flags, rate: LAT_RATE, seconds: LAT_SECONDS });
    lat.push({ ...l, load: os.loadavg()[0] });
  }
  progress("start-up and idle RSS");
  const up = await startup(env, [newStream("UP"), newStream("UP"), newStream("UP")], { concurrency: C });
  progress("requeue");
  const rq = await requeue(env, newStream("RQ"), { concurrency: C, logLevel: "warning" });

  const rows: Row[] = configs.map((cfg) => ({
    name: cfg.name,
    bySize: SIZES.map((n) => {
      const r = results[n][cfg.key];
      return { jobsPerS: r.best, worst: r.worst, ratio: r.best / results[n].raw.best, peakRssMb: r.peakRssMb };
    }),
  }));
  out("");
  printTable(rows, SIZES, REPS);
  out(
    `qw defaults command: dist/qw ${
      qwArgs("<stream>", "<url>", defaults).join(" ")
    } (info logging: problems and lifecycle, not a line per job)`,
  );
  out(
    `BullMQ runs: jobs added first (addBulk, 1,000 at a time, removeOnComplete and removeOnFail true), then one Worker`,
  );
  out("");
  const cpuRows: CpuRow[] = [];
  for (const n of SIZES) {
    for (const key of ["raw", "rawLean", "noResults", "noResultsLate", "rawResults", "defaults"]) {
      const r = results[n][key];
      const name = configs.find((x) => x.key === key)!.name.trim();
      if (r?.cpu) cpuRows.push({ name, n, cpu: r.cpu });
    }
  }
  if (cpuRows.length > 0) {
    printCpu(cpuRows);
    out("");
  }
  for (const [i, l] of lat.entries()) {
    out(
      `enqueue-to-start latency at ${fmt(l.rate, 0)} jobs/s, ${latRuns[i].name} (${l.n} jobs after 1 s warm-up): ` +
        `p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms, max ${fmt(l.max, 2)} ms (load average ${fmt(l.load, 2)})`,
    );
  }
  const startMedian = [...up.startMs].sort((a, b) => a - b)[Math.floor(up.startMs.length / 2)];
  out(
    `process start to first job run (qw creates the stream, dead-letter stream and results bucket): median ${
      fmt(startMedian, 0)
    } ms ` +
      `(runs: ${up.startMs.map((x) => fmt(x, 0)).join(", ")} ms)`,
  );
  out(
    `RSS of dist/qw: idle ${fmt(up.idleRssMb)} MB (defaults c=${C}, 3 s after its job); over ${
      SOAK.toLocaleString("en-US")
    } jobs ` +
      `(defaults c=${C}, ${fmt(soak.jobsPerS / 1000, 1)}k jobs/s): at the first job ${fmt(soak.start)}, after a tenth ${
        fmt(soak.warm)
      }, ` +
      `peak ${fmt(soak.peak)}, end ${fmt(soak.end)} MB`,
  );
  out(
    `requeued job (Reject requeue=true, acksLate) runs again after: p50 ${fmt(percentile(rq, 50), 1)} ms, max ${
      fmt(Math.max(...rq), 1)
    } ms (${rq.length} jobs)`,
  );
  out("");

  const targets: Target[] = [];
  const pct = (x: number) => `${fmt(x * 100, 0)}%`;
  for (const n of SIZES) {
    const r = results[n];
    const k = `${n / 1000}k`;
    const d = r.defaults.best;
    targets.push({
      name: `${k}: qw defaults c=${C} >= 0.8x raw with results`,
      ok: d / r.rawResults.best >= 0.8,
      figure: `${fmt(d / r.rawResults.best, 2)}x`,
    });
    if (r.bullInline) {
      const x = d / r.bullInline.best;
      targets.push({ name: `${k}: qw defaults c=${C} >= 1.5x BullMQ inline`, ok: x >= 1.5, figure: `${fmt(x, 2)}x` });
    } else {targets.push({
        name: `${k}: qw defaults c=${C} >= 1.5x BullMQ inline`,
        ok: null,
        figure: "no peer in this run",
      });}
    const early = r.noResults.best / r.raw.best;
    const late = r.noResultsLate.best / r.raw.best;
    targets.push({ name: `${k}: --no-results early ack >= 0.85x raw`, ok: early >= 0.85, figure: `${fmt(early, 2)}x` });
    targets.push({ name: `${k}: --no-results acksLate >= 0.8x raw`, ok: late >= 0.8, figure: `${fmt(late, 2)}x` });
    const cost = 1 - r.events.best / r.noResults.best;
    targets.push({ name: `${k}: events on costs <= 10% (vs --no-events)`, ok: cost <= 0.1, figure: pct(cost) });
  }
  for (const conc of [1, 2]) {
    targets.push({
      name: `p99 enqueue-to-start < 3 ms at ${LAT_RATE}/s, c=${conc}`,
      ok: lat[conc - 1].p99 < 3,
      figure: `${fmt(lat[conc - 1].p99, 2)} ms`,
    });
  }
  targets.push({ name: "idle RSS < 80 MB", ok: up.idleRssMb < 80, figure: `${fmt(up.idleRssMb)} MB` });
  targets.push({
    name: `RSS flat over ${SOAK / 1000}k jobs (end <= ${FLAT}x after a tenth)`,
    ok: soak.end <= FLAT * soak.warm,
    figure: `${fmt(soak.end / soak.warm, 2)}x (${fmt(soak.warm)} -> ${fmt(soak.end)} MB)`,
  });
  targets.push({
    name: "start to first job < 150 ms (median of 3)",
    ok: startMedian < 150,
    figure: `${fmt(startMedian, 0)} ms`,
  });
  targets.push({
    name: "requeued job re-runs < 100 ms",
    ok: Math.max(...rq) < 100,
    figure: `max ${fmt(Math.max(...rq), 1)} ms`,
  });
  printTargets(targets);
  out(`bench took ${fmt((Date.now() - t0) / 1000, 0)} s; load average at the end ${loadavg()}`);
} finally {
  await peer?.stop();
  await c.close();
  await server.stop();
  tmp.cleanup();
}
process.exit(0);
