/**
 * The job lists' part of the dashboard's JSON API (api.ts calls it first):
 *
 * - `GET /api/jobs/:state?task=T&prefix=P`: a list (running, failed, waiting, delayed, revoked, expired).
 * - `GET /api/jobs/page/:id`: the job's record with every attempt and, for a flow, its steps.
 * - `POST /api/job/:id/retry`: enqueue a failed job again (same token and origin rules as every POST).
 *
 * @module
 */

import type { JobList, JobPage, Retried } from "../../jobs/job_lists.ts";
import { type JobFilter, type JobListState, jobStateProblem } from "../../jobs/job_rows.ts";

/** What the job lists need of the dashboard's source. */
export interface JobOps {
  jobs(state: JobListState, filter: JobFilter): Promise<JobList>;
  jobPage(id: string): Promise<JobPage>;
  retry(id: string): Promise<Retried>;
}

/** A response, or null when the path is not one of these. Throws what the ops throw. */
export async function routeJobs(
  method: string,
  parts: string[],
  query: URLSearchParams,
  ops: JobOps,
): Promise<{ status: number; body: unknown } | null> {
  if (method === "GET" && parts[0] === "jobs") {
    if (parts.length === 3 && parts[1] === "page") return { status: 200, body: await ops.jobPage(parts[2]) };
    if (parts.length !== 2) return null;
    const problem = jobStateProblem(parts[1]);
    if (problem !== null) return { status: 400, body: { error: problem } };
    const filter: JobFilter = { task: query.get("task")?.trim() || undefined, prefix: query.get("prefix")?.trim() || undefined };
    return { status: 200, body: await ops.jobs(parts[1] as JobListState, filter) };
  }
  if (method === "POST" && parts.length === 3 && parts[0] === "job" && parts[2] === "retry") {
    return { status: 200, body: { ...(await ops.retry(parts[1])), retried: true } };
  }
  return null;
}
