/**
 * The Redis that the peers of scripts/bench.ts (BullMQ and Celery) run on:
 * Debian's `redis-server` (installed with apt-get when missing), started by
 * the bench on a free loopback port without persistence in a temp dir, and
 * killed when the bench exits, however it exits.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { sleep } from "./_harness.ts";

/** Run a command to its end: whether it succeeded, its stdout, and the tail of its output when not. */
export function sh(cmd: string, args: string[], timeoutMs: number, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, ...env } });
  const tail = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").slice(-2).join(" | ");
  return { ok: r.status === 0, out: (r.stdout ?? "").trim(), why: r.error ? r.error.message : tail };
}

/** The path of redis-server, installing Debian's package when it is missing; or why not. */
function ensureRedis(progress: (s: string) => void): { path: string } | { why: string } {
  const which = () => sh("which", ["redis-server"], 10_000);
  if (which().ok) return { path: which().out };
  progress("installing Debian redis-server for the peers");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let r = sh("apt-get", ["install", "-y", "-q", "redis-server"], 600_000, env);
  if (!r.ok) {
    sh("apt-get", ["update", "-q"], 600_000, env);
    r = sh("apt-get", ["install", "-y", "-q", "redis-server"], 600_000, env);
  }
  if (!r.ok || !which().ok) return { why: `apt-get install redis-server failed: ${r.why}` };
  return { path: which().out };
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

const liveRedis = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveRedis) {
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
  }
});

/** A running redis-server of the bench's own. */
export interface Redis {
  port: number;
  pid: number;
  /** e.g. "7.0.15". */
  version: string;
  stop(): Promise<void>;
}

/** Start redis-server with its data in `dir`, or say why it cannot run here. */
export async function startRedis(dir: string, progress: (s: string) => void): Promise<Redis | { skipped: string }> {
  const redis = ensureRedis(progress);
  if ("why" in redis) return { skipped: redis.why };
  const version = /v=(\S+)/.exec(sh(redis.path, ["--version"], 10_000).out)?.[1] ?? "?";
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
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
  return {
    port,
    pid: child.pid!,
    version,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
      if (!exited) child.kill("SIGKILL");
    },
  };
}
