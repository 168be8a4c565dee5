/**
 * A private network of Linux network namespaces for the network-fault
 * scenarios (scripts/net_chaos.ts): one namespace holding a bridge, and one
 * namespace per member (a nats-server node, a qw process, the harness itself)
 * joined to the bridge by a veth pair. Addresses come from one private test
 * subnet, 10.213.0.0/24, that exists only inside these namespaces: no default
 * route, no link to the host's interfaces, so a run's traffic never leaves
 * them and parallel runs (each with its own namespaces) cannot collide.
 *
 * Every namespace is named `<prefix>-<member>`; the prefix `qwn-<pid>-<rand>`
 * carries the pid of the process that made it, so `removeStale()` can clear
 * what an aborted run left behind. Faults are nftables rules inside a member's
 * namespace (cuts one way or both, random loss) and signals (freeze, thaw).
 * Needs root, `ip` and `nft` (scripts/ensure_nftables.sh).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

/** The test subnet's first three octets; members get .2 to .254. */
export const SUBNET = "10.213.0";
const PREFIX_RE = /^qwn-([0-9a-z]+)-[0-9a-z]+$/;
const TABLE = "qwfault";

/** Run a command, throwing one line with its stderr when it fails. */
export function sh(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`'${cmd} ${args.join(" ")}' failed: ${(err.stderr || err.message).trim().split("\n")[0]}`);
  }
}

/** A fresh run prefix: `qwn-<pid in base 36>-<random>`, at most 15 characters. */
export function runPrefix(pid = process.pid): string {
  return `qwn-${pid.toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Names of the namespaces that exist now. */
export function listNamespaces(): string[] {
  // The directory `ip netns` keeps them in (its own listing warns about ones being removed).
  return existsSync("/run/netns") ? readdirSync("/run/netns") : [];
}

/** Remove every namespace of this prefix (their veths go with them); never throws. */
export function removeNamespaces(prefix: string): number {
  let n = 0;
  for (const ns of listNamespaces()) {
    if (!ns.startsWith(`${prefix}-`)) continue;
    try {
      sh("ip", ["netns", "del", ns]);
      n++;
    } catch { /* already gone */ }
  }
  return n;
}

/** Remove namespaces left by runs whose process is gone (aborted runs); returns how many. */
export function removeStale(): number {
  const prefixes = new Set<string>();
  for (const ns of listNamespaces()) {
    const cut = ns.lastIndexOf("-");
    const prefix = ns.slice(0, cut);
    const m = PREFIX_RE.exec(prefix);
    if (m && !existsSync(`/proc/${parseInt(m[1], 36)}`)) prefixes.add(prefix);
  }
  let n = 0;
  for (const p of prefixes) n += removeNamespaces(p);
  return n;
}

/** Which traffic a cut drops, seen from the member it is applied in. */
export type Direction = "both" | "out" | "in";

/** The namespaces of one run, with a member per name and the faults between them. */
export class Net {
  readonly prefix: string;
  readonly #addr = new Map<string, string>();

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /**
   * Create the bridge and one namespace per member (`[name, host octet]`). A member whose namespace already
   * exists (the harness's own, made before it started inside it) is joined to the bridge as it is.
   */
  static create(prefix: string, members: [string, number][]): Net {
    const net = new Net(prefix);
    const have = new Set(listNamespaces());
    const br = net.ns("br");
    sh("ip", ["netns", "add", br]);
    sh("ip", ["-n", br, "link", "add", "br0", "type", "bridge"]);
    sh("ip", ["-n", br, "link", "set", "br0", "up"]);
    for (const [name, octet] of members) {
      const ns = net.ns(name);
      if (!have.has(ns)) sh("ip", ["netns", "add", ns]);
      const addr = `${SUBNET}.${octet}`;
      const port = `v${octet}`;
      sh("ip", ["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", br]);
      sh("ip", ["-n", br, "link", "set", port, "master", "br0", "up"]);
      sh("ip", ["-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0"]);
      sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
      // One table for every fault of this member: a heal flushes it.
      sh("ip", ["netns", "exec", ns, "nft", "-f", "-"], [
        `table inet ${TABLE} {`,
        "  chain out { type filter hook output priority 0; policy accept; }",
        "  chain in { type filter hook input priority 0; policy accept; }",
        "}",
      ].join("\n"));
      net.#addr.set(name, addr);
    }
    return net;
  }

  /** The namespace of a member. */
  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** The address of a member. */
  addr(name: string): string {
    const a = this.#addr.get(name);
    if (!a) throw new Error(`No member '${name}' in network '${this.prefix}'`);
    return a;
  }

  /** The argv that runs a command inside a member's namespace. */
  wrap(name: string, cmd: string, args: string[]): [string, string[]] {
    return ["ip", ["netns", "exec", this.ns(name), cmd, ...args]];
  }

  #nft(name: string, rules: string[]): void {
    sh("ip", ["netns", "exec", this.ns(name), "nft", "-f", "-"], rules.join("\n") + "\n");
  }

  /**
   * Cut `a` from `others` inside a's namespace: "out" drops what a sends to them, "in" what a receives from
   * them, "both" both. TCP needs both ways, so a one-way cut stalls connections too, but only the side
   * whose packets vanish learns it from its own writes.
   */
  partition(a: string, others: string[], direction: Direction): void {
    const set = `{ ${others.map((o) => this.addr(o)).join(", ")} }`;
    const rules: string[] = [];
    if (direction !== "in") rules.push(`add rule inet ${TABLE} out ip daddr ${set} drop`);
    if (direction !== "out") rules.push(`add rule inet ${TABLE} in ip saddr ${set} drop`);
    this.#nft(a, rules);
  }

  /** Drop `percent` % of a member's packets at random, each way (its link to the bridge). */
  loss(a: string, percent: number): void {
    if (!(percent > 0 && percent < 100)) throw new Error(`Loss must be in (0, 100), not '${percent}'`);
    this.#nft(a, [
      `add rule inet ${TABLE} out ip daddr ${SUBNET}.0/24 numgen random mod 100 < ${Math.round(percent)} drop`,
      `add rule inet ${TABLE} in ip saddr ${SUBNET}.0/24 numgen random mod 100 < ${Math.round(percent)} drop`,
    ]);
  }

  /** Remove every fault rule of a member. */
  heal(a: string): void {
    this.#nft(a, [`flush table inet ${TABLE}`]);
  }

  /** The fault rules a member has now (for logs and tests). */
  rules(a: string): string {
    return sh("ip", ["netns", "exec", this.ns(a), "nft", "list", "table", "inet", TABLE]);
  }

  /** Remove every namespace of the run. */
  teardown(): number {
    return removeNamespaces(this.prefix);
  }
}

/** Stop a process where it stands (SIGSTOP): its sockets stay open, it answers nothing. */
export function freeze(pid: number): void {
  process.kill(pid, "SIGSTOP");
}

/** Let a frozen process run again (SIGCONT). */
export function thaw(pid: number): void {
  process.kill(pid, "SIGCONT");
}
