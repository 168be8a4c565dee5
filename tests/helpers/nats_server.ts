/** Real nats-server processes for integration tests; node: built-ins only, so it runs under bun and deno. */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, rmSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { sleep, waitFor } from "./wait.ts";

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const CLUSTER_READY_TIMEOUT_MS = 20_000;

// A test that forgets stop() must not leave servers (or their temp dirs)
// behind. Exit handlers may only do synchronous work.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
function killAll(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveChildren.clear();
  liveDirs.clear();
}
process.on("exit", killAll);
// `deno test` never emits process "exit" but does dispatch the web "unload" event.
(globalThis as { addEventListener?: (type: string, fn: () => void) => void })
  .addEventListener?.("unload", killAll);

export interface NatsServerOptions {
  jetstream?: boolean; // default true
  config?: string; // appended to the generated config
  port?: number; // default -1: a free port (0 would mean nats-server's 4222)
  storeDir?: string; // default <dir>/store; a given dir is never removed by stop()
  domain?: string; // the JetStream domain; default none
}

export interface StopOptions {
  cleanup?: boolean; // remove the temp dir (default true)
  signal?: NodeJS.Signals; // default SIGTERM; SIGKILL follows after 5 s
}

type Exit = { code: number | null; signal: string | null } | { error: Error };

export class NatsServer {
  /** Holds nats.conf, server.log, the ports file and (by default) the store dir. */
  readonly dir: string;
  readonly storeDir: string;
  #opts: NatsServerOptions;
  #child?: ChildProcess;
  #exit?: Promise<Exit>;
  #stopping?: Promise<void>;
  #removed = false;
  #url = "";
  #port = 0;

  private constructor(dir: string, opts: NatsServerOptions) {
    this.dir = dir;
    this.storeDir = opts.storeDir ?? join(dir, "store");
    this.#opts = opts;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const dir = await mkdtemp(join(tmpdir(), "qw-nats-"));
    liveDirs.add(dir);
    const server = new NatsServer(dir, opts);
    try {
      await server.#spawn(opts.port ?? -1);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Client URL, e.g. "nats://127.0.0.1:41234"; unchanged by restart(). */
  get url(): string { return this.#url; }
  get port(): number { return this.#port; }
  /** Undefined while stopped. */
  get pid(): number | undefined { return this.#child?.pid; }

  /** Tail of the server's stdout/stderr, for failure messages. */
  async logTail(chars = 2_000): Promise<string> {
    const log = await readFile(join(this.dir, "server.log"), "utf8").catch(() => "");
    return log.slice(-chars).trim();
  }

  async stop({ cleanup = true, signal = "SIGTERM" }: StopOptions = {}): Promise<void> {
    // Shared so concurrent calls never remove the dir under a running server.
    this.#stopping ??= this.#terminate(signal);
    await this.#stopping;
    if (cleanup && !this.#removed) {
      this.#removed = true;
      liveDirs.delete(this.dir);
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  /** Stops the server and starts it on the same port and store dir, so JetStream data survives. */
  async restart(): Promise<void> {
    await this.stop({ cleanup: false });
    await this.#spawn(this.#port);
  }

  /** Simulates a crash: no graceful shutdown, files left for a restart(). */
  async kill9(): Promise<void> {
    await this.stop({ cleanup: false, signal: "SIGKILL" });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #spawn(port: number): Promise<void> {
    if (this.#removed) throw new Error("Cannot start a server whose temp dir was removed");
    const conf = join(this.dir, "nats.conf");
    await writeFile(conf, this.#config(port));
    const bin = serverBin();
    // A file rather than a pipe: no stream to drain or unref, and it outlives the process.
    const log = openSync(join(this.dir, "server.log"), "a");
    const child = spawn(bin, ["-c", conf], { stdio: ["ignore", log, log] });
    closeSync(log); // The child has its own copy.
    // Unref'd so a forgotten server cannot keep the test process alive; the
    // exit handler above kills it. Deno throws on unref() when spawn failed.
    if (child.pid !== undefined) child.unref();
    liveChildren.add(child);
    this.#child = child;
    this.#stopping = undefined;
    this.#exit = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error) => resolve({ error }));
    }).finally(() => liveChildren.delete(child));

    let exit: Exit | undefined;
    void this.#exit.then((e) => (exit = e));
    const deadline = Date.now() + START_TIMEOUT_MS;
    try {
      for (;;) {
        if (exit && "error" in exit) throw notFound(exit.error, bin) ?? exit.error;
        if (exit) {
          const how = exit.signal ?? `code ${exit.code}`;
          throw new Error(`nats-server exited during startup (${how}): ${await this.logTail()}`);
        }
        const url = child.pid === undefined ? undefined : await readPortsFile(this.dir, child.pid);
        if (url) {
          this.#url = url;
          this.#port = Number(new URL(url).port);
          return;
        }
        if (Date.now() > deadline) {
          throw new Error(`nats-server not ready within ${START_TIMEOUT_MS / 1000} s: ${await this.logTail()}`);
        }
        await sleep(20);
      }
    } catch (err) {
      await this.#terminate("SIGKILL");
      throw err;
    }
  }

  async #terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exit) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // No pid means spawn failed (and Deno throws on kill() then): nothing to signal.
    if (child.pid !== undefined) {
      child.kill(signal);
      timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    }
    try {
      await this.#exit;
    } finally {
      clearTimeout(timer);
      this.#child = undefined;
    }
  }

  #config(port: number): string {
    const lines = [`listen: 127.0.0.1:${port}`, `ports_file_dir: ${JSON.stringify(this.dir)}`];
    const domain = this.#opts.domain ? `, domain: ${JSON.stringify(this.#opts.domain)}` : "";
    if (this.#opts.jetstream ?? true) lines.push(`jetstream { store_dir: ${JSON.stringify(this.storeDir)}${domain} }`);
    if (this.#opts.config) lines.push(this.#opts.config);
    return lines.join("\n") + "\n";
  }
}

/** The binary tests start: NATS_SERVER_BIN (the Makefile sets it), else nats-server on PATH. */
export const serverBin = (): string => process.env.NATS_SERVER_BIN || "nats-server";

/**
 * The version of that binary as [major, minor, patch], from `--version`, for
 * tests of what only some servers do; [0, 0, 0] if it cannot be read.
 */
export function serverVersion(): [number, number, number] {
  try {
    const m = execFileSync(serverBin(), ["--version"], { encoding: "utf8" }).match(/v?(\d+)\.(\d+)\.(\d+)/);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  } catch {
    return [0, 0, 0];
  }
}

/** Whether that binary is at least `major.minor`. */
export function serverAtLeast(major: number, minor: number): boolean {
  const [a, b] = serverVersion();
  return a > major || (a === major && b >= minor);
}

export class NatsCluster {
  readonly servers: NatsServer[];
  constructor(servers: NatsServer[]) {
    this.servers = servers;
  }
  /** Client URLs, one per server. */
  get urls(): string[] { return this.servers.map((s) => s.url); }
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts `n` clustered JetStream servers and resolves once every one of them serves the JetStream API.
 * The route ports are picked free and released before the servers bind them, so another process can take one
 * meanwhile: a cluster whose node exits at startup is started again on fresh ports (up to 3 tries).
 */
export async function startCluster(n = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(n);
    } catch (err) {
      if (attempt >= 3 || !/exited during startup/.test(String(err))) throw err;
    }
  }
}

async function startClusterOnce(n: number): Promise<NatsCluster> {
  const routePorts = await freePorts(n);
  // A unique name keeps a stray route from another test's cluster from joining this one.
  const name = `qw-test-${Math.random().toString(36).slice(2, 8)}`;
  const config = (port: number, i: number) => {
    const routes = routePorts.filter((p) => p !== port).map((p) => `nats-route://127.0.0.1:${p}`);
    return `server_name: ${name}-n${i + 1}
cluster {
  name: ${name}
  listen: 127.0.0.1:${port}
  routes: [${routes.join(", ")}]
}`;
  };
  const started = await Promise.allSettled(routePorts.map((port, i) => NatsServer.start({ config: config(port, i) })));
  const cluster = new NatsCluster(started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
  try {
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    // Every server, not just one: an R3 stream needs all three peers in the meta group.
    await Promise.all(cluster.urls.map((url) => waitForJetStream(url)));
    await waitForPlacement(cluster.urls, n);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Account info ($JS.API.INFO) only succeeds once the server's meta group has a leader. */
async function waitForJetStream(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const ready = async () => Boolean(await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo());
  const message = `JetStream on ${url} has no meta leader`;
  try {
    await waitFor(ready, { timeoutMs: CLUSTER_READY_TIMEOUT_MS, intervalMs: 100, message });
  } finally {
    await nc.close();
  }
}

/**
 * A meta leader is not enough: 2.15 answers $JS.API.INFO before the leader
 * counts every peer as current, and an R3 stream then fails with "no suitable
 * peers for placement". Ready means a stream of `replicas` can be placed.
 */
async function waitForPlacement(urls: string[], replicas: number): Promise<void> {
  const nc = await connect({ servers: urls });
  const name = `qw_ready_${Math.random().toString(36).slice(2, 8)}`;
  const placed = async () => {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    try {
      await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: replicas, storage: StorageType.Memory });
    } catch {
      return false;
    }
    await jsm.streams.delete(name);
    return true;
  };
  const message = `JetStream cluster cannot place a stream of ${replicas} replicas`;
  try {
    await waitFor(placed, { timeoutMs: CLUSTER_READY_TIMEOUT_MS, intervalMs: 200, message });
  } finally {
    await nc.close();
  }
}

async function readPortsFile(dir: string, pid: number): Promise<string | undefined> {
  // The file is named after the binary (nats-server_<pid>.ports), which NATS_SERVER_BIN may rename.
  const name = (await readdir(dir)).find((f) => f.endsWith(`_${pid}.ports`));
  if (!name) return undefined;
  try {
    const ports = JSON.parse(await readFile(join(dir, name), "utf8")) as { nats?: string[] };
    return ports.nats?.[0];
  } catch {
    return undefined; // Read while being written; try again.
  }
}

/** Ports the OS considers free right now; held open together so they are distinct. */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    await Promise.all(servers.map((s) =>
      new Promise<void>((resolve, reject) => void s.once("error", reject).listen(0, "127.0.0.1", resolve))
    ));
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function notFound(err: unknown, bin: string): Error | undefined {
  if ((err as NodeJS.ErrnoException)?.code !== "ENOENT") return undefined;
  return new Error(
    process.env.NATS_SERVER_BIN
      ? `nats-server not found at '${bin}' (from NATS_SERVER_BIN): 'make install' builds v2.15.3 into .tools/bin`
      : "nats-server not found on PATH: install it with 'apt-get update && apt-get install -y nats-server'",
    { cause: err },
  );
}
