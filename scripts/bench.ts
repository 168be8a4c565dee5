/**
 * Speed of the real product, side by side in one run, as ratios (issue 25's
 * targets, each printed PASS or MISS). The limit (the `x raw` column's 1.00)
 * is a plain JetStream consumer with the same NATS client that takes its
 * messages as qw's puller does (one subscription, its own pull requests) and
 * acks each; beside it the same through the client's `consume()`, the same
 * writing one result per message (the limit of a worker that stores
 * results), `dist/qw` running a no-op task, and two peers on Redis: BullMQ
 * and Celery. Then the scale rows (10,000, 100,000 and, unless BENCH_SCALE=0,
 * 1,000,000 jobs), RSS over a long run, enqueue-to-start latency at 1,000
 * and 10,000 jobs/s, process start to first job, and how soon a requeued job
 * runs again. Figures are printed, never asserted.
 *
 *   make bench                 (bun scripts/bench.ts) on nats-server 2.15.3, then on 2.9.10
 *   BENCH_QUICK=1 make bench   20,000 jobs, one run each: a fast check of every line
 *   see _bench_options.ts for BENCH_REPS, BENCH_JOBS, BENCH_SCALE, BENCH_PEERS, BENCH_EXTRA, BENCH_SERVERS
 *
 * Every run is a process of its own, started cold: each qw run is a new
 * dist/qw, and the references run in a new process too
 * (scripts/_raw_process.ts). Throughput of a run = jobs / (time from the
 * first job starting to the last one done). For JetStream the stream is a
 * WorkQueue, so it is empty exactly when every message was acked; where
 * results are stored, the run also waits for every result to be in the
 * bucket. BullMQ: first job active to last completed; Celery: first task
 * started to last finished. CPU per job is read from /proc (every thread of
 * the process, or of a peer's process tree, from its start to its last job,
 * plus the broker meanwhile). Each repetition runs every configuration once,
 * in turn, and each figure is the median of its repetitions.
 *
 * The peers run on Redis, not NATS: they are measured once per bench, in the
 * first server's run, and the later servers' tables and targets show those
 * figures, marked with the server whose run measured them.
 *
 * @module
 */

import { existsSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fmt, out, QW_BIN, tempDir } from "./_harness.ts";
import { benchOptions } from "./_bench_options.ts";
import { runServer, type ServerResult } from "./_bench_suite.ts";
import { targets } from "./_bench_targets.ts";
import { printCpu, printOthers, printScale, printTable, printTargets } from "./_bench_report.ts";
import { type Redis, startRedis } from "./_peer_redis.ts";
import { type BullmqPeer, startBullmqPeer } from "./_peer_bullmq.ts";
import { type CeleryPeer, startCeleryPeer } from "./_peer_celery.ts";
import { qwArgs } from "./_bench_qw.ts";
import { C } from "./_bench_matrix.ts";

const progress = (s: string) => process.stderr.write(`  ... ${s}\n`);
let o;
try {
  o = benchOptions(process.argv.slice(2), process.env);
} catch (e) {
  out(`bench: ${(e as Error).message}`);
  process.exit(2);
}
if (!existsSync(QW_BIN)) {
  out(`bench: ${QW_BIN} is missing: run 'make build' first`);
  process.exit(2);
}
const CPUS = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
const bunVersion = (globalThis as { Bun?: { version: string } }).Bun?.version;
const tmp = tempDir("qw-bench-");
const t0 = Date.now();

let redis: Redis | null = null;
let bullmq: BullmqPeer | null = null;
let celery: CeleryPeer | null = null;
try {
  out(
    `qw bench: ${
      o.sizes.map((n) => n.toLocaleString("en-US")).join(" and ")
    } pre-published no-op jobs per throughput run, ` +
      `${o.reps > 1 ? `median of ${o.reps}` : "one run each"}${
        o.peerReps !== o.reps ? ` (BullMQ: ${o.peerReps})` : ""
      }${o.celeryReps !== o.reps ? ` (Celery: ${o.celeryReps === 1 ? "one run" : `median of ${o.celeryReps}`})` : ""}${
        o.quick ? " (BENCH_QUICK)" : ""
      }; scale rows at ${o.scaleSizes.map((n) => n.toLocaleString("en-US")).join(", ")}; ${CPUS} CPUs; ${
        bunVersion ? `bun ${bunVersion}` : "deno"
      }; servers: ${o.servers.join(", ")}; load average ${loadavg()}`,
  );
  if (o.peers) {
    const r = await startRedis(join(tmp.path, "redis"), progress);
    if ("skipped" in r) out(`peers: skipped: ${r.skipped}`);
    else {
      redis = r;
      const b = startBullmqPeer(join(tmp.path, "peers"), r, progress);
      if ("skipped" in b) out(`peers: BullMQ skipped: ${b.skipped}`);
      else bullmq = b;
      const cel = startCeleryPeer(join(tmp.path, "peers"), r, CPUS, progress);
      if ("skipped" in cel) out(`peers: Celery skipped: ${cel.skipped}`);
      else celery = cel;
      out(
        `peers: Redis ${r.version} (loopback, no persistence); ${
          [bullmq?.describe, celery?.describe].filter(Boolean).join("; ")
        }; ` +
          `Celery's worker at -c ${CPUS} (the CPU count), --loglevel WARNING; each peer run is a process of its own`,
      );
    }
  } else out("peers: skipped: BENCH_PEERS=0 / --no-peers");

  let first: ServerResult | null = null;
  for (const bin of o.servers) {
    const peers = first ? {} : { bullmq, celery };
    const r = await runServer(o, bin, peers, {
      tmp: tmp.path,
      progress,
      onStart: (v) => progress(`nats-server ${v} (${bin})`),
    });
    if (first) {
      // The peers' figures of the first server's run, marked as such.
      for (const row of first.rows.filter((x) => x.peer)) {
        r.rows.push(row);
        for (const n of o.sizes) {
          r.matrix[n][row.key] = { ...first.matrix[n][row.key], from: `measured on ${first.version}` };
        }
      }
    }
    first ??= r;
    out("");
    out(
      `=== nats-server ${r.version} (${bin}; file storage, loopback): ${
        fmt(r.seconds, 0)
      } s; load average ${loadavg()} ===`,
    );
    printTable(r, o.sizes, o.reps);
    out(`qw defaults command: dist/qw ${qwArgs("<stream>", "<url>", { concurrency: C }).join(" ")}`);
    out("");
    printCpu(r, o.sizes);
    out("");
    printScale(r);
    out("");
    printOthers(r);
    out("");
    printTargets(targets(r, o.sizes), r.version);
  }
  out("");
  out(`bench took ${fmt((Date.now() - t0) / 1000, 0)} s; load average at the end ${loadavg()}`);
} finally {
  await redis?.stop();
  tmp.cleanup();
}
process.exit(0);
