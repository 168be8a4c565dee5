/**
 * BullMQ as a peer of scripts/bench.ts, measured in the same run as qw. The
 * bench brings what it needs itself and nothing of it becomes a dependency of
 * qw: npm `bullmq` installed into a scratch folder of the bench's temp dir,
 * on the bench's own redis-server (_peer_redis.ts). Each measurement is a
 * separate node process (`fixtures/bullmq_peer.cjs`).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "./_harness.ts";
import type { Redis } from "./_peer_redis.ts";
import { sh } from "./_peer_redis.ts";
import type { PeerRun } from "./_peer_celery.ts";

export const BULLMQ_VERSION = "6.7.0";
/** BullMQ 6 leaves the Redis client to the user; ioredis is the one its docs use. */
const IOREDIS_RANGE = "5";

/** One BullMQ configuration: inline processor, or a sandboxed one in worker threads. */
export interface BullmqConfig {
  mode: "inline" | "threads";
  concurrency: number;
}

/** The installed bullmq, ready to run on the bench's Redis. */
export interface BullmqPeer {
  /** e.g. "BullMQ 6.7.0 (ioredis 5.8.2), node v20.20.2". */
  describe: string;
  /**
   * Add `jobs` no-op jobs, then run them with one Worker: jobs per second from
   * the first active to the last completed, and the CPU of the node process
   * (from the Worker's creation) and of redis-server meanwhile.
   */
  run(jobs: number, config: BullmqConfig): Promise<PeerRun>;
}

const NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : "node";
const RUN_TIMEOUT_S = 600;

/** Install bullmq into `scratch`; or why not. */
function ensureBullmq(
  scratch: string,
  progress: (s: string) => void,
): { version: string; ioredis: string } | { why: string } {
  mkdirSync(scratch, { recursive: true });
  progress(`installing npm bullmq@${BULLMQ_VERSION} and ioredis@${IOREDIS_RANGE} into a scratch folder`);
  const pkgs = [`bullmq@${BULLMQ_VERSION}`, `ioredis@${IOREDIS_RANGE}`];
  const r = sh("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", scratch, ...pkgs], 600_000);
  const pkg = join(scratch, "node_modules", "bullmq", "package.json");
  if (!r.ok || !existsSync(pkg)) return { why: `npm install bullmq@${BULLMQ_VERSION} failed: ${r.why}` };
  const ioredis = join(scratch, "node_modules", "ioredis", "package.json");
  if (!existsSync(ioredis)) return { why: `npm install ioredis@${IOREDIS_RANGE} failed: ${r.why}` };
  const version = (f: string) => JSON.parse(readFileSync(f, "utf8")).version as string;
  return { version: version(pkg), ioredis: version(ioredis) };
}

/** Install BullMQ into `dir` for runs on `redis`, or say why it cannot run here. */
export function startBullmqPeer(
  dir: string,
  redis: Redis,
  progress: (s: string) => void,
): BullmqPeer | { skipped: string } {
  const bullmqDir = join(dir, "bullmq");
  const bull = ensureBullmq(bullmqDir, progress);
  if ("why" in bull) return { skipped: bull.why };
  const nodeVersion = sh(NODE, ["--version"], 10_000).out || "?";
  let queueNo = 0;
  return {
    describe: `BullMQ ${bull.version} (ioredis ${bull.ioredis}), node ${nodeVersion}`,
    run(jobs, config) {
      const o = {
        bullmqDir,
        port: redis.port,
        redisPid: redis.pid,
        queue: `bench${++queueNo}`,
        jobs,
        timeoutS: RUN_TIMEOUT_S,
        ...config,
      };
      return new Promise((resolve, reject) => {
        const p = spawn(NODE, [join(FIXTURES, "bullmq_peer.cjs"), JSON.stringify(o)], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout!.on("data", (d) => (stdout += d));
        p.stderr!.on("data", (d) => (stderr += d));
        p.once("exit", (code) => {
          const line = stdout.trim().split("\n").pop() ?? "";
          if (code !== 0 || !line.startsWith("{")) {
            return reject(new Error(`BullMQ run failed (exit ${code}): ${stderr.trim().slice(-300)}`));
          }
          const r = JSON.parse(line) as { jobsPerS: number; cpuMs: number; redisCpuMs: number | null };
          const cpu = r.redisCpuMs === null ? null : { threads: null, process: r.cpuMs, broker: r.redisCpuMs };
          resolve({ jobsPerS: r.jobsPerS, cpu });
        });
      });
    },
  };
}
