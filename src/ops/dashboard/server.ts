/**
 * The dashboard's HTTP server on `node:http` (Bun and Deno alike): the page
 * and its assets from memory, and the JSON API of api.ts behind the rules
 * of auth.ts. Every answer is `no-store`; the page sends no data to anyone
 * else (no CDN).
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorText } from "../../client/connection.ts";
import { parseListen } from "../http.ts";
import { route } from "./api.ts";
import { checkRequest, listenProblem } from "./auth.ts";
import { ASSETS, pageHtml } from "./page.ts";
import type { DashboardOps } from "./source.ts";

/** A running dashboard. */
export interface DashboardServer {
  /** "host:port" it listens on (the real port when 0 was asked). */
  readonly address: string;
  /** The page's URL. */
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@linkcode startDashboard}. */
export interface DashboardOptions {
  /** "host:port". */
  listen: string;
  /** Required on any address but loopback; then every API request needs it. */
  token: string | null;
  stream: string;
  ops: DashboardOps;
}

const MAX_BODY = 64 * 1024;

/** Listen; resolves once listening, rejects with a one-line error (also for a non-loopback address without a token). */
export function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const { host, port } = parseListen(o.listen);
  const problem = listenProblem(host, o.token);
  if (problem !== null) return Promise.reject(new RangeError(problem));
  const html = pageHtml(o.stream);
  const server = createServer((req, res) => {
    handle(req, res, o, html).catch((e) => send(res, 500, "application/json", JSON.stringify({ error: errorText(e) })));
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) => {
      const why = e.code === "EADDRINUSE" ? "the address is in use" : e.code === "EACCES" ? "permission denied" : errorText(e);
      reject(new Error(`Cannot serve the dashboard on '${o.listen}': ${why}`));
    });
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo | null;
      const address = `${host.includes(":") ? `[${host}]` : host}:${a?.port ?? port}`;
      resolve({
        address,
        url: `http://${address}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  });
  res.end(head ? undefined : body);
}

async function handle(req: IncomingMessage, res: ServerResponse, o: DashboardOptions, html: string): Promise<void> {
  const method = req.method ?? "GET";
  const path = (req.url ?? "/").split("?")[0];
  const json = (status: number, body: unknown) => send(res, status, "application/json; charset=utf-8", JSON.stringify(body) + "\n");
  const headers = { host: req.headers.host, origin: req.headers.origin, authorization: req.headers.authorization };
  const refusal = checkRequest({ method, path, headers }, o.token);
  if (refusal !== null) return json(refusal.status, { error: refusal.error });
  if (!path.startsWith("/api/")) {
    if (method !== "GET" && method !== "HEAD") return json(405, { error: `Method '${method}' is not allowed: use GET` });
    const head = method === "HEAD";
    if (path === "/" || path === "/index.html") return send(res, 200, "text/html; charset=utf-8", html, head);
    const asset = ASSETS[path];
    if (asset) return send(res, 200, asset.type, asset.body, head);
    return json(404, { error: `No such path '${path}': the dashboard is at /` });
  }
  let body = "";
  if (method === "POST") {
    for await (const chunk of req) {
      body += chunk;
      if (body.length > MAX_BODY) return json(413, { error: `The request body is larger than ${MAX_BODY} bytes` });
    }
  }
  const r = await route(method, path, body, o.ops, new URLSearchParams((req.url ?? "").split("?")[1] ?? ""));
  return json(r.status, r.body);
}
