/**
 * What one `make bench` runs, from its command line and environment (a pure
 * function of both, so `BENCH_QUICK=1 make bench` and `bun scripts/bench.ts
 * --quick` mean the same).
 *
 *   BENCH_QUICK=1 / --quick        20,000 jobs, one run each, latency runs of 3 s
 *   BENCH_REPS=N / --reps N        runs per configuration, the median shown (default 3, quick 1)
 *   BENCH_PEER_REPS=N              runs per BullMQ configuration (default BENCH_REPS)
 *   BENCH_CELERY_REPS=N            runs per Celery configuration (default 1: about a thousand jobs/s, so
 *                                  100,000 jobs take minutes a run; at most BENCH_PEER_REPS)
 *   BENCH_JOBS=a,b / --jobs a,b    the throughput sizes (default 20,000 and 100,000)
 *   BENCH_SCALE=N / --scale        the backlog of the scale rows: 1,000,000 jobs by default (BENCH_SCALE=1 too),
 *                                  none with BENCH_QUICK unless asked, BENCH_SCALE=0 none; run once (minutes each)
 *   BENCH_PEERS=0 / --no-peers     without BullMQ and Celery
 *   BENCH_EXTRA=1 / --extra        the reference rows for scale too (warm, kv.create(), --confirm-ack)
 *   BENCH_SERVERS="bin bin"        the nats-server binaries, one full run each, in order
 *                                  (default $NATS_SERVER_BIN, then $NATS_SERVER_OLDEST_BIN when set)
 *
 * @module
 */

/** The resolved plan of one bench invocation. */
export interface BenchOptions {
  quick: boolean;
  /** Throughput sizes of the main table; each target is judged at each. */
  sizes: number[];
  reps: number;
  /** Runs of each BullMQ configuration, at most `reps`. */
  peerReps: number;
  /** Runs of each Celery configuration, at most `peerReps`. */
  celeryReps: number;
  /** Job counts of the scale rows (qw defaults): 10,000, the largest size, and the backlog of BENCH_SCALE. */
  scaleSizes: number[];
  /** The backlog row (run once: each run takes minutes), or 0 for none. */
  backlog: number;
  peers: boolean;
  extra: boolean;
  /** nats-server binaries, one full run each. */
  servers: string[];
  /** Seconds of each enqueue-to-start latency run (after 1 s of warm-up). */
  latSeconds: number;
  /** Jobs of the RSS-over-a-long-run measurement. */
  soak: number;
}

const on = (v: string | undefined) => v !== undefined && v !== "" && v !== "0" && v !== "false";

/** Resolve `argv` and `env` into a plan; throws RangeError on a bad number. */
export function benchOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const arg = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
  const count = (what: string, v: string) => {
    const n = Number(v.replaceAll("_", ""));
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cannot run the bench as '${what}' must be a positive integer: current value is '${v}'`);
    }
    return n;
  };
  const quick = argv.includes("--quick") || on(env.BENCH_QUICK);
  const jobs = arg("--jobs") ?? env.BENCH_JOBS;
  const sizes = jobs ? jobs.split(",").map((j) => count("jobs", j)) : quick ? [20_000] : [20_000, 100_000];
  const repsText = arg("--reps") ?? env.BENCH_REPS;
  const reps = repsText ? count("reps", repsText) : quick ? 1 : 3;
  const peerReps = Math.min(reps, env.BENCH_PEER_REPS ? count("BENCH_PEER_REPS", env.BENCH_PEER_REPS) : reps);
  const celeryReps = Math.min(peerReps, env.BENCH_CELERY_REPS ? count("BENCH_CELERY_REPS", env.BENCH_CELERY_REPS) : 1);
  const scaleText = argv.includes("--scale") ? "1" : env.BENCH_SCALE ?? (quick ? undefined : "1");
  const scaleN = on(scaleText) ? count("BENCH_SCALE", scaleText!) : 0;
  const backlog = scaleN === 0 ? [] : [scaleN === 1 ? 1_000_000 : scaleN];
  const largest = Math.max(...sizes);
  const scaleSizes = [...new Set([10_000, largest, ...backlog])].sort((a, b) => a - b);
  const peers = !argv.includes("--no-peers") && (env.BENCH_PEERS === undefined || on(env.BENCH_PEERS));
  const extra = argv.includes("--extra") || on(env.BENCH_EXTRA);
  const servers = env.BENCH_SERVERS
    ? env.BENCH_SERVERS.split(/\s+/).filter((s) => s !== "")
    : [env.NATS_SERVER_BIN || "nats-server", ...(env.NATS_SERVER_OLDEST_BIN ? [env.NATS_SERVER_OLDEST_BIN] : [])];
  return {
    quick,
    sizes,
    reps,
    peerReps,
    celeryReps,
    scaleSizes,
    backlog: backlog[0] ?? 0,
    peers,
    extra,
    servers,
    latSeconds: quick ? 3 : 10,
    soak: quick ? 50_000 : 200_000,
  };
}
