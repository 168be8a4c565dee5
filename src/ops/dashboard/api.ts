/**
 * The dashboard's JSON API: a router from method and path to a
 * {@linkcode DashboardOps} call, with one-line errors and their status.
 * Free of HTTP and NATS, so it is tested with a fake.
 *
 * - `GET /api/overview`: numbers per task, totals, workers, schedules, rate.
 * - `GET /api/job/:id`: the job's record, or `{ id, state: "PENDING" }`.
 * - `GET /api/dlq`: the most recent dead letters and how many there are; `GET /api/dlq/:seq`: one, with body and headers.
 * - `POST /api/dlq/:seq/replay`, `POST /api/dlq/purge`, `POST /api/job/:id/revoke` (body `{"terminate": true}` optional).
 * - The job lists, a job's page and retry: see lists/jobs_api.ts.
 * - `POST /api/pause` (body `{"task": "T", "until": "ISO date"}`, both optional), `POST /api/resume` (body `{"task": "T"}` optional).
 *
 * @module
 */

import { errorText } from "../../client/connection.ts";
import type { DeadLetter } from "../dlq.ts";
import type { DashboardOps } from "./source.ts";
import { pauseRequest } from "./pause_api.ts";
import { routeJobs } from "./lists/jobs_api.ts";

/** A response: status and a JSON value. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

const ok = (body: unknown): ApiResponse => ({ status: 200, body });
const err = (status: number, error: string): ApiResponse => ({ status, body: { error } });

/** A dead letter as JSON; with `full`, its headers and body (text, or base64 when not UTF-8). Pure. */
export function letterJson(dl: DeadLetter, full: boolean): Record<string, unknown> {
  const base = {
    seq: dl.seq, task: dl.task, id: dl.id, reason: dl.reason, error: dl.error, originalSubject: dl.originalSubject,
    originalSeq: dl.originalSeq, deliveries: dl.deliveries, at: dl.at,
  };
  if (!full) return base;
  let body: Record<string, string>;
  try {
    body = { body: new TextDecoder("utf-8", { fatal: true }).decode(dl.body) };
  } catch {
    let bin = "";
    for (let i = 0; i < dl.body.length; i += 0x8000) bin += String.fromCharCode(...dl.body.subarray(i, i + 0x8000));
    body = { bodyBase64: btoa(bin) };
  }
  return { ...base, subject: dl.subject, headers: dl.headers, ...body };
}

/** The status of an error from the server side: 404 for what does not exist, else 500. */
export function errorStatus(e: unknown): number {
  return /Cannot find|not found|does not exist/i.test(errorText(e)) ? 404 : 500;
}

/** Answer one API request. Never throws. */
export async function route(method: string, path: string, body: string, ops: DashboardOps, query = new URLSearchParams()): Promise<ApiResponse> {
  const parts = path.replace(/^\/api\//, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const seqOf = (s: string) => (/^\d{1,15}$/.test(s) && Number(s) >= 1 ? Number(s) : null);
  try {
    const jobs = await routeJobs(method, parts, query, ops);
    if (jobs !== null) return jobs;
    if (method === "GET") {
      if (parts.length === 1 && parts[0] === "overview") return ok(await ops.overview());
      if (parts.length === 2 && parts[0] === "job") return ok(await ops.job(parts[1]));
      if (parts.length === 1 && parts[0] === "dlq") {
        const { total, letters } = await ops.deadLetters();
        return ok({ total, letters: letters.map((d) => letterJson(d, false)) });
      }
      if (parts.length === 2 && parts[0] === "dlq") {
        const seq = seqOf(parts[1]);
        if (seq === null) return err(400, `Cannot read dead letter as SEQ must be an integer >= 1: current value is "${parts[1]}"`);
        return ok(letterJson(await ops.deadLetter(seq), true));
      }
    } else if (method === "POST") {
      if (parts.length === 2 && parts[0] === "dlq" && parts[1] === "purge") return ok({ purged: await ops.purge() });
      if (parts.length === 3 && parts[0] === "dlq" && parts[2] === "replay") {
        const seq = seqOf(parts[1]);
        if (seq === null) return err(400, `Cannot replay dead letter as SEQ must be an integer >= 1: current value is "${parts[1]}"`);
        return ok({ ...(await ops.replay(seq)), replayed: true });
      }
      if (parts.length === 1 && (parts[0] === "pause" || parts[0] === "resume")) {
        const req = pauseRequest(parts[0], body, Date.now());
        if (typeof req === "string") return err(400, req);
        return ok(parts[0] === "pause" ? await ops.pause(req.task, req.until) : await ops.resume(req.task));
      }
      if (parts.length === 3 && parts[0] === "job" && parts[2] === "revoke") {
        let terminate = false;
        if (body.trim() !== "") {
          try {
            terminate = JSON.parse(body)?.terminate === true;
          } catch {
            return err(400, `Cannot revoke job as the body must be JSON like {"terminate": true}: current value is ${JSON.stringify(body.slice(0, 80))}`);
          }
        }
        return ok({ id: parts[1], ...(await ops.revoke(parts[1], terminate)) });
      }
    } else {
      return err(405, `Method '${method}' is not allowed: use GET or POST`);
    }
    return err(404, `No such API '${method} ${path}': see /api/overview, /api/job/ID, /api/dlq`);
  } catch (e) {
    const status = e instanceof TypeError || e instanceof RangeError ? 400 : errorStatus(e);
    return err(status, errorText(e));
  }
}
