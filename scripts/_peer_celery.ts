/**
 * Celery as a peer of scripts/bench.ts, on the bench's own redis-server
 * (_peer_redis.ts) as its broker. The bench brings it itself and nothing of
 * it becomes a dependency of qw: `celery[redis]` 5.7 is installed with pip
 * into a virtualenv of its own under ~/.cache/qw-bench (kept between runs;
 * `python3 -m venv`, through scripts/ensure_python_venv.sh).
 *
 * A run: N no-op tasks enqueued first with Celery's own client
 * (`fixtures/celery_producer.py`, one process per CPU, each enqueueing its
 * share), then one `celery worker` started with `-P prefork` or `-P threads`
 * at the CPU count, Celery's defaults otherwise (no result backend) and
 * `--loglevel WARNING`, as qw logs no line per job. Timed as qw's rows are:
 * from the first task started to the last one done
 * (`fixtures/celery_bench_tasks.py` records both).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { FIXTURES, ROOT, sleep } from "./_harness.ts";
import { processCpu, type RunCpu, treeCpu } from "./_bench_cpu.ts";
import { type Redis, sh } from "./_peer_redis.ts";

export const CELERY_SERIES = "5.7";
const RUN_TIMEOUT_MS = 900_000;

/** One peer measurement: jobs per second and what it cost in CPU (null without /proc). */
export interface PeerRun {
  jobsPerS: number;
  cpu: RunCpu | null;
}

/** Celery's two pools the bench runs. */
export type CeleryPool = "prefork" | "threads";

/** The installed Celery, ready to run on the bench's Redis. */
export interface CeleryPeer {
  /** e.g. "Celery 5.7.0, Python 3.11.7". */
  describe: string;
  run(jobs: number, pool: CeleryPool): Promise<PeerRun>;
}

/** The virtualenv with celery 5.7 (made or completed when needed); or why not. */
function ensureVenv(
  progress: (s: string) => void,
): { python: string; celery: string; version: string } | { why: string } {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const venv = join(cache, "qw-bench", `celery-${CELERY_SERIES}`);
  const python = join(venv, "bin", "python");
  const celery = join(venv, "bin", "celery");
  const version = () => sh(celery, ["--version"], 60_000).out.split(" ")[0];
  if (
    existsSync(celery) && version().startsWith(`${CELERY_SERIES}.`) &&
    sh(python, ["-c", "import packaging, redis"], 60_000).ok
  ) {
    return { python, celery, version: version() };
  }
  progress(`installing celery[redis]==${CELERY_SERIES}.* into ${venv}`);
  mkdirSync(join(cache, "qw-bench"), { recursive: true });
  if (!existsSync(python)) {
    const v = sh(join(ROOT, "scripts", "ensure_python_venv.sh"), [venv], 600_000);
    if (!v.ok) return { why: `cannot make a virtualenv at '${venv}': ${v.why}` };
  }
  const r = sh(join(venv, "bin", "pip"), ["install", "-q", `celery[redis]==${CELERY_SERIES}.*`, "redis"], 600_000);
  if (!r.ok || !existsSync(celery)) return { why: `pip install celery[redis]==${CELERY_SERIES}.* failed: ${r.why}` };
  return { python, celery, version: version() };
}

/** Each worker process's record: tasks run, first start and last end (epoch ms). */
function readRecords(dir: string): { count: number; first: number; last: number } {
  let count = 0;
  let first = Infinity;
  let last = 0;
  for (const f of readdirSync(dir)) {
    if (!/^\d+$/.test(f)) continue;
    const [c, a, b] = readFileSync(join(dir, f), "utf8").trim().split(" ").map(Number);
    count += c;
    first = Math.min(first, a);
    last = Math.max(last, b);
  }
  return { count, first, last };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once("exit", (c) => r(c)));
}

/** Stop a worker as a deploy would (SIGTERM, a warm shutdown), its process group killed after 10 s. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) child.kill("SIGTERM");
  const done = await Promise.race([exited(child).then(() => true), sleep(10_000).then(() => false)]);
  try {
    process.kill(-child.pid!, "SIGKILL"); // the pool's children too
  } catch { /* all gone */ }
  if (!done) await exited(child);
}

/** Install Celery for runs on `redis` with scratch files under `dir`, or say why it cannot run here. */
export function startCeleryPeer(
  dir: string,
  redis: Redis,
  cpus: number,
  progress: (s: string) => void,
): CeleryPeer | { skipped: string } {
  const venv = ensureVenv(progress);
  if ("why" in venv) return { skipped: venv.why };
  const pyVersion = sh(venv.python, ["--version"], 10_000).out.replace("Python ", "") || "?";
  let runNo = 0;
  return {
    describe: `Celery ${venv.version} (Redis broker, no result backend), Python ${pyVersion}`,
    async run(jobs, pool) {
      const runDir = join(dir, `celery${++runNo}`);
      mkdirSync(runDir, { recursive: true });
      const env = {
        ...process.env,
        CELERY_BENCH_BROKER: `redis://127.0.0.1:${redis.port}/0`,
        CELERY_BENCH_QUEUE: `bench${runNo}`,
        CELERY_BENCH_DIR: runDir,
        PYTHONPATH: FIXTURES,
      };
      const producer = join(FIXTURES, "celery_producer.py");
      const shares = Array.from({ length: cpus }, (_, i) => Math.floor(jobs / cpus) + (i < jobs % cpus ? 1 : 0));
      const codes = await Promise.all(
        shares.map((n) =>
          exited(spawn(venv.python, [producer, String(n)], { env, stdio: ["ignore", "ignore", "inherit"] }))
        ),
      );
      if (codes.some((c) => c !== 0)) throw new Error(`the Celery producer failed (exit codes ${codes.join(", ")})`);

      const redis0 = processCpu(redis.pid);
      const args = ["-A", "celery_bench_tasks", "worker", "-P", pool, "-c", String(cpus), "--loglevel", "WARNING"];
      const worker = spawn(venv.celery, args, {
        env,
        cwd: FIXTURES,
        detached: true, // a process group of its own, to kill the pool's children with it
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      worker.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
      try {
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        for (;;) {
          const r = readRecords(runDir);
          if (r.count >= jobs) {
            const processMs = treeCpu(worker.pid);
            const redis1 = processCpu(redis.pid);
            const cpu = processMs === null || redis0 === null || redis1 === null
              ? null
              : { threads: null, process: processMs, broker: redis1 - redis0 };
            return { jobsPerS: jobs / ((r.last - r.first) / 1000), cpu };
          }
          if (worker.exitCode !== null || Date.now() > deadline) {
            throw new Error(`Celery ran ${r.count} of ${jobs} tasks (${pool}): ${stderr.trim().slice(-300)}`);
          }
          await sleep(20);
        }
      } finally {
        await stopWorker(worker);
      }
    },
  };
}
