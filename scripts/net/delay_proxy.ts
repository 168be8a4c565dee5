/**
 * A TCP proxy that delays every chunk, each way, by DELAY +- JITTER ms
 * (uniform), keeping each connection's byte order (a chunk never overtakes
 * the one before it). It stands in for `tc netem delay` where the kernel has
 * no netem: run inside a qw's namespace, qw connects to it on 127.0.0.1 and it
 * connects to the servers over the qw's link.
 *
 *   bun scripts/net/delay_proxy.ts DELAY JITTER SEED LPORT=HOST:PORT ...
 *
 * Prints "ready" once every listener is bound.
 *
 * @module
 */

import { createConnection, createServer, type Socket } from "node:net";

const [delayArg, jitterArg, seedArg, ...maps] = process.argv.slice(2);
const DELAY = Number(delayArg), JITTER = Number(jitterArg);
let seed = Number(seedArg) | 0;
if (!(DELAY >= 0 && JITTER >= 0 && JITTER <= DELAY) || maps.length === 0) {
  process.stderr.write("usage: delay_proxy.ts DELAY JITTER SEED LPORT=HOST:PORT ...\n");
  process.exit(2);
}

/** mulberry32: the same seed, the same delays. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Pipe `from` into `to`, each chunk after its delay, in order. */
function delayed(from: Socket, to: Socket): void {
  let due = 0;
  from.on("data", (chunk) => {
    due = Math.max(due, Date.now() + DELAY + (random() * 2 - 1) * JITTER);
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  });
  from.on("end", () => setTimeout(() => to.end(), Math.max(0, due - Date.now())));
}

let bound = 0;
for (const m of maps) {
  const [lport, target] = m.split("=");
  const [host, port] = target.split(":");
  const server = createServer((client) => {
    const upstream = createConnection({ host, port: Number(port) });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    delayed(client, upstream);
    delayed(upstream, client);
  });
  server.listen(Number(lport), "127.0.0.1", () => {
    if (++bound === maps.length) process.stdout.write("ready\n");
  });
}
