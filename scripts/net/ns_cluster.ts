/**
 * A 3-node nats-server cluster whose nodes each run in their own network
 * namespace (scripts/net/netns.ts), clients on <addr>:4222 and routes on
 * <addr>:6222 over the bridge. Routes are not advertised to clients, so a
 * client keeps the URLs it was given (a delay proxy stays in the path).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { serverBin } from "../../tests/helpers/nats_server.ts";
import { until } from "../_harness.ts";
import type { Net } from "./netns.ts";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

/** One nats-server in its namespace; its store dir survives kill9() and start(). */
export class NsNode {
  readonly name: string;
  readonly dir: string;
  readonly url: string;
  readonly serverName: string;
  #child?: ChildProcess;
  #exited?: Promise<void>;
  #config: string;
  #net: Net;

  constructor(net: Net, name: string, serverName: string, config: string, dir: string) {
    this.#net = net;
    this.name = name;
    this.dir = dir;
    this.url = `nats://${net.addr(name)}:4222`;
    this.#config = config;
    this.serverName = serverName;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start (again) in its namespace; resolves once it accepts clients. */
  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const conf = join(this.dir, "nats.conf");
    writeFileSync(conf, this.#config);
    const log = openSync(join(this.dir, "server.log"), "a");
    const [cmd, args] = this.#net.wrap(this.name, serverBin(), ["-c", conf]);
    const child = spawn(cmd, args, { stdio: ["ignore", log, log] });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`Cannot start nats-server in '${this.#net.ns(this.name)}'`);
    live.add(child);
    this.#child = child;
    this.#exited = new Promise<void>((r) => child.once("exit", () => r())).finally(() => live.delete(child));
    const up = await until(async () => {
      const nc = await connect({ servers: this.url, timeout: 1_000, reconnect: false });
      await nc.close();
      return true;
    }, 15_000, 100);
    if (!up) throw new Error(`nats-server ${this.serverName} not up within 15 s: ${this.logTail()}`);
  }

  /** A crash: SIGKILL (after SIGCONT, in case it is frozen), files kept. */
  async kill9(): Promise<void> {
    const c = this.#child;
    if (!c) return;
    try {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#exited;
    this.#child = undefined;
  }

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const c = this.#child;
    if (!c) return;
    c.kill("SIGCONT");
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await this.#exited;
    clearTimeout(t);
    this.#child = undefined;
  }

  logTail(chars = 1_500): string {
    try {
      return readFileSync(join(this.dir, "server.log"), "utf8").slice(-chars).trim();
    } catch {
      return "";
    }
  }
}

/** Start nodes `names` (members of `net`) as one cluster; resolves once an R3 stream can be placed. */
export async function startNsCluster(net: Net, names: string[], dir: string): Promise<NsNode[]> {
  const cluster = `${net.prefix}-c`;
  const nodes = names.map((name) => {
    const addr = net.addr(name);
    const routes = names.filter((o) => o !== name).map((o) => `nats-route://${net.addr(o)}:6222`);
    const serverName = `${cluster}-${name}`;
    const nodeDir = join(dir, name);
    const config = [
      `server_name: ${serverName}`,
      `listen: ${addr}:4222`,
      `jetstream { store_dir: ${JSON.stringify(join(nodeDir, "store"))} }`,
      `cluster { name: ${cluster}, listen: ${addr}:6222, no_advertise: true, routes: [${routes.join(", ")}] }`,
    ].join("\n") + "\n";
    return new NsNode(net, name, serverName, config, nodeDir);
  });
  await Promise.all(nodes.map((n) => n.start()));
  await waitForPlacement(nodes.map((n) => n.url), names.length);
  return nodes;
}

/** Ready means a stream of `replicas` can be placed (a meta leader alone is not enough on 2.15). */
export async function waitForPlacement(urls: string[], replicas: number, timeoutMs = 60_000): Promise<void> {
  const nc = await connect({ servers: urls, timeout: 2_000 });
  const name = `qw_ready_${Math.random().toString(36).slice(2, 8)}`;
  try {
    const ok = await until(async () => {
      const jsm = await jetstreamManager(nc, { timeout: 2_000 });
      await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: replicas, storage: StorageType.Memory });
      await jsm.streams.delete(name);
      return true;
    }, timeoutMs, 300);
    if (!ok) throw new Error(`The cluster cannot place a stream of ${replicas} replicas within ${timeoutMs / 1000} s`);
  } finally {
    await nc.close();
  }
}
