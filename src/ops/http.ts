/**
 * The worker's HTTP endpoint: `/healthz` (connected to NATS and the pool
 * alive), `/readyz` (the consumer is pulling) and `/metrics` (Prometheus
 * text). Built on `node:http` so it runs on Bun and Deno alike. Health is
 * derived from events by {@linkcode Health}, which is pure.
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorText } from "../client/connection.ts";
import type { QwEvent } from "../core/events.ts";

/** How long a Web Worker that failed to spawn counts as down when no job started since. */
export const SPAWN_FAILURE_WINDOW_MS = 15_000;

/** The answer of a health or readiness check. */
export interface Check {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  connected: boolean;
  poolAlive: boolean;
  pulling: boolean;
  closing: boolean;
}

/** Health and readiness from events. Pure; the clock is injected. */
export class Health {
  /** Pass to `Emitter.on`. */
  readonly listener = (e: QwEvent): void => this.observe(e);
  #poolSize: number;
  #now: () => number;
  #connected = true;
  #disconnectDetail: string | undefined;
  #started = false;
  #closing = false;
  #closed = false;
  #spawnFailures = new Map<number, number>();
  #lastStart = -Infinity;
  #stalled: string | null = null;

  /** The service starts connected: it only exists once the first connection succeeded. */
  constructor(options: { poolSize: number; now?: () => number }) {
    this.#poolSize = options.poolSize;
    this.#now = options.now ?? Date.now;
  }

  /** Whether the NATS connection is up, as the last connection event said. */
  get connected(): boolean {
    return this.#connected;
  }

  observe(e: QwEvent): void {
    switch (e.type) {
      case "connection.status":
        if (e.status === "disconnect" || e.status === "close") {
          this.#connected = false;
          this.#disconnectDetail = e.status === "close"
            ? "the connection is closed"
            : `disconnected from '${e.detail ?? "?"}'`;
        } else if (e.status === "reconnect") {
          this.#connected = true;
        }
        return;
      case "service.started":
        this.#started = true;
        this.#poolSize = e.concurrency;
        return;
      case "service.closing":
        this.#closing = true;
        return;
      case "service.closed":
        this.#closed = true;
        return;
      case "worker.spawn_failed":
        this.#spawnFailures.set(e.worker, this.#now());
        return;
      case "job.started":
        this.#lastStart = this.#now();
        return;
      case "pool.stalled":
        this.#stalled = `The pool is stalled: ${e.waiting} job(s) waiting ${e.seconds} s with no Web Worker running or reporting`;
        return;
      case "pool.recovered":
        this.#stalled = null;
        return;
    }
  }

  /** Every Web Worker failed to spawn lately and no job started since: nothing can run. */
  get poolAlive(): boolean {
    if (this.#closed) return false;
    const since = this.#now() - SPAWN_FAILURE_WINDOW_MS;
    let failing = 0;
    for (const at of this.#spawnFailures.values()) if (at >= since && at > this.#lastStart) failing++;
    return this.#poolSize <= 0 || failing < this.#poolSize;
  }

  /** `/healthz`: connected, the pool alive and not stalled. */
  health(): Check {
    const c = this.#state();
    if (!c.connected) return { ...c, ok: false, reason: `Not connected to NATS: ${this.#disconnectDetail}` };
    if (this.#stalled !== null) return { ...c, ok: false, reason: this.#stalled };
    if (!c.poolAlive) {
      const reason = this.#closed
        ? "The pool is closed"
        : `No Web Worker could be spawned in the last ${SPAWN_FAILURE_WINDOW_MS / 1000}s`;
      return { ...c, ok: false, reason };
    }
    return { ...c, ok: true };
  }

  /** `/readyz`: healthy, and the consumer is pulling (started and not shutting down). */
  readiness(): Check {
    const h = this.health();
    if (!h.ok) return h;
    if (h.closing) return { ...h, ok: false, reason: "The worker is shutting down" };
    if (!h.pulling) return { ...h, ok: false, reason: "The consumer is not pulling yet" };
    return h;
  }

  #state(): Check {
    return {
      ok: false,
      connected: this.#connected,
      poolAlive: this.poolAlive,
      pulling: this.#started && !this.#closing,
      closing: this.#closing,
    };
  }
}

/** A running HTTP endpoint. */
export interface HttpServer {
  /** "host:port" it listens on (the real port when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

/** What the endpoint serves. */
export interface HttpSources {
  health(): Check;
  readiness(): Check;
  metrics(): string;
}

/** Split "host:port" or "[v6]:port". Throws a one-line error. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(listen.trim());
  if (m === null || Number(m[2]) > 65535) {
    throw new RangeError(`Cannot serve HTTP as the address must be "host:port": current value is "${listen}"`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** Listen on `listen` ("host:port"); resolves once listening, rejects with a one-line error. */
export function startHttpServer(listen: string, sources: HttpSources): Promise<HttpServer> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => handle(req, res, sources));
  return new Promise((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) => {
      const why = e.code === "EADDRINUSE"
        ? "the address is in use"
        : e.code === "EACCES"
        ? "permission denied"
        : errorText(e);
      reject(new Error(`Cannot serve HTTP on '${listen}': ${why}`));
    });
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo | null;
      const shown = host.includes(":") ? `[${host}]` : host;
      resolve({
        address: `${shown}:${a?.port ?? port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections of a scraper must not hold the shutdown.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

function handle(req: IncomingMessage, res: ServerResponse, sources: HttpSources): void {
  const path = (req.url ?? "/").split("?")[0];
  const send = (status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    return send(
      405,
      "application/json",
      JSON.stringify({ error: `Method '${req.method}' is not allowed: use GET` }) + "\n",
    );
  }
  try {
    switch (path) {
      case "/healthz":
      case "/readyz": {
        const c = path === "/healthz" ? sources.health() : sources.readiness();
        return send(
          c.ok ? 200 : 503,
          "application/json",
          JSON.stringify({ status: c.ok ? "ok" : "unavailable", ...c }) + "\n",
        );
      }
      case "/metrics":
        return send(200, "text/plain; version=0.0.4; charset=utf-8", sources.metrics());
      default:
        return send(
          404,
          "application/json",
          JSON.stringify({ error: `No such path '${path}': try /healthz, /readyz or /metrics` }) + "\n",
        );
    }
  } catch (e) {
    return send(500, "application/json", JSON.stringify({ error: errorText(e) }) + "\n");
  }
}
