/**
 * The dashboard's safety rules, as pure functions. It binds to 127.0.0.1 by
 * default and refuses any other address without a token. With a token, every
 * `/api/` request needs `Authorization: Bearer <token>` (the page keeps it in
 * sessionStorage). Without one (loopback only), a request must name a
 * loopback host, so a web page elsewhere cannot reach it by DNS rebinding, and
 * a POST from another origin is refused, so a page elsewhere cannot replay,
 * purge or revoke by posting a form.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The one-line reason the dashboard must not start, or null. Pure. */
export function listenProblem(host: string, token: string | null): string | null {
  if (isLoopback(host) || token !== null) return null;
  return `Cannot serve the dashboard on '${host}' without a token: pass --http-token (or QW_HTTP_TOKEN), or bind to 127.0.0.1`;
}

/** The parts of a request the rules read; header names in lower case. */
export interface RequestLike {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
}

/** A refusal: status and message. */
export interface Refusal {
  status: number;
  error: string;
}

const hostOf = (hostHeader: string) => hostHeader.replace(/:\d+$/, "");

/** Null when the request may go on, else why not. Pure. */
export function checkRequest(req: RequestLike, token: string | null): Refusal | null {
  const api = req.path.startsWith("/api/");
  if (token === null) {
    const host = req.headers.host ?? "";
    if (!isLoopback(hostOf(host))) {
      return { status: 403, error: `Host '${host}' is not a loopback name: open the dashboard on 127.0.0.1 or localhost` };
    }
  } else if (api && !bearerMatches(req.headers.authorization, token)) {
    return { status: 401, error: "A token is required: open the page once with ?token=<token>" };
  }
  if (req.method === "POST") {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== "null") {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = "";
      }
      if (originHost !== (req.headers.host ?? "")) {
        return { status: 403, error: `Origin '${origin}' is not this dashboard: POSTs come from its own page` };
      }
    } else if (origin === "null") {
      return { status: 403, error: "Origin 'null' is not this dashboard: POSTs come from its own page" };
    }
  }
  return null;
}

/** Compares in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (m === null) return false;
  const a = new TextEncoder().encode(m[1]);
  const b = new TextEncoder().encode(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
