/**
 * BullMQ as a peer of scripts/bench.ts, measured in the same run as qw. The
 * bench brings what it needs itself and nothing of it becomes a dependency of
 * qw: Debian's `redis-server` (installed with apt-get when missing), its own
 * redis-server on a free loopback port without persistence in a temp dir,
 * and npm `bullmq` installed into a scratch folder of that temp dir. Each
 * measurement is a separate node process (`fixtures/bullmq_peer.cjs`).
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { FIXTURES, sleep } from "./_harness.ts";

export const BULLMQ_VERSION = "6.7.0";
/** BullMQ 6 leaves the Redis client to the user; ioredis is the one its docs use. */
const IOREDIS_RANGE = "5";

/** One BullMQ configuration: inline processor, or a sandboxed one in worker threads. */
export interface PeerConfig {
  mode: "inline" | "threads";
  concurrency: number;
}

/** A running peer: redis-server plus the installed bullmq. */
export interface BullmqPeer {
  /** e.g. "BullMQ 6.7.0 (ioredis 5.8.2), Redis 7.0.15, node v20.20.2". */
  describe: string;
  /** Add `jobs` no-op jobs, then run them; jobs per second from the first active to the last completed. */
  run(jobs: number, config: PeerConfig): Promise<{ jobsPerS: number; addSeconds: number }>;
  stop(): Promise<void>;
}

const NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : "node";
const RUN_TIMEOUT_S = 600;

function sh(cmd: string, args: string[], timeoutMs: number, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, ...env } });
  const tail = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").slice(-2).join(" | ");
  return { ok: r.status === 0, out: (r.stdout ?? "").trim(), why: r.error ? r.error.message : tail };
}

/** The path of redis-server, installing Debian's package when it is missing; or why not. */
function ensureRedis(progress: (s: string) => void): { path: string } | { why: string } {
  const which = () => sh("which", ["redis-server"], 10_000);
  if (which().ok) return { path: which().out };
  progress("installing Debian redis-server for the BullMQ peer");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let r = sh("apt-get", ["install", "-y", "-q", "redis-server"], 600_000, env);
  if (!r.ok) {
    sh("apt-get", ["update", "-q"], 600_000, env);
    r = sh("apt-get", ["install", "-y", "-q", "redis-server"], 600_000, env);
  }
  if (!r.ok || !which().ok) return { why: `apt-get install redis-server failed: ${r.why}` };
  return { path: which().out };
}

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True once redis answers PING on the port. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

// The redis-server started here dies with this script, however it exits.
const liveRedis = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveRedis) {
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
  }
});

/** Start the peer in `dir`, or say why it cannot run here. */
export async function startBullmqPeer(
  dir: string,
  progress: (s: string) => void,
): Promise<BullmqPeer | { skipped: string }> {
  const redis = ensureRedis(progress);
  if ("why" in redis) return { skipped: redis.why };
  const bull = ensureBullmq(join(dir, "bullmq"), progress);
  if ("why" in bull) return { skipped: bull.why };
  const redisVersion = /v=(\S+)/.exec(sh(redis.path, ["--version"], 10_000).out)?.[1] ?? "?";
  const nodeVersion = sh(NODE, ["--version"], 10_000).out || "?";

  const data = join(dir, "redis");
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", data];
  const child = spawn(redis.path, args, { stdio: "ignore" });
  liveRedis.add(child);
  let exited = false;
  child.once("exit", () => {
    exited = true;
    liveRedis.delete(child);
  });
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (exited || Date.now() > deadline) {
      child.kill("SIGKILL");
      return { skipped: `redis-server did not answer on port ${port}` };
    }
    await sleep(20);
  }

  let queueNo = 0;
  return {
    describe: `BullMQ ${bull.version} (ioredis ${bull.ioredis}), Redis ${redisVersion}, node ${nodeVersion}`,
    run(jobs, config) {
      const o = {
        bullmqDir: join(dir, "bullmq"),
        port,
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
            reject(new Error(`BullMQ run failed (exit ${code}): ${stderr.trim().slice(-300)}`));
          } else resolve(JSON.parse(line));
        });
      });
    },
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
      if (!exited) child.kill("SIGKILL");
    },
  };
}
