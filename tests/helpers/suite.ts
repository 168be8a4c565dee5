/**
 * Shared set-up of integration suites that run dist/qw: one nats-server per
 * suite, a client connection to it and a temp directory, all removed after.
 */
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { NatsServer } from "./nats_server.ts";
import { waitFor } from "./wait.ts";
import type { spawnQw } from "./cli.ts";

/** What a suite gets; read its fields inside tests (they are set in `before`). */
export interface Suite {
  srv: NatsServer;
  nc: NatsConnection;
  dir: string;
}

/** Register before/after hooks that start a server, connect and make a temp dir. */
export function useServer(prefix: string): Suite {
  const s = {} as Suite;
  before(async () => {
    s.srv = await NatsServer.start();
    s.nc = await connect({ servers: s.srv.url });
    s.dir = mkdtempSync(join(tmpdir(), `qw-${prefix}-`));
  });
  after(async () => {
    await s.nc?.close();
    await s.srv?.stop();
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** Resolves once a spawned qw logged that it started. */
export const qwStarted = (p: ReturnType<typeof spawnQw>): Promise<boolean> =>
  waitFor(() => p.output().includes("worker started"), { timeoutMs: 15_000, message: () => `qw did not start: ${p.output()}` });

/** Resolves with the exit code of a spawned qw. */
export const qwExited = (p: ReturnType<typeof spawnQw>): Promise<number | null> =>
  p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.on("exit", (c) => r(c)));

/** SIGTERM a spawned qw and wait for its exit code. process.kill, not p.kill: Deno reports
 *  a child signalled through p.kill() as killed by that signal even when it exits 0. */
export async function qwStop(p: ReturnType<typeof spawnQw>): Promise<number | null> {
  if (p.exitCode !== null) return p.exitCode;
  process.kill(p.pid!, "SIGTERM");
  return await qwExited(p);
}
