/**
 * The job lists, a job's page (every attempt, and a flow's steps) and
 * retrying a failed job, for the dashboard and `qw inspect --jobs STATE`.
 *
 * A retry enqueues the message the FAILURE record kept (see
 * `ResultRecord.job`) again under the same task id, as the next retry
 * (`Qw-Retries` one more than the failed attempt's, so its record replaces
 * the failure's), with the dedup id `<id>:again:<retries>`: a second click
 * on the same failure is dropped by the stream as a duplicate.
 *
 * @module
 */

import { jetstream, type JetStreamManager } from "@nats-io/jetstream";
import { headers as makeHeaders, type NatsConnection } from "@nats-io/nats-core";
import { keyFor, type ResultRecord } from "../../client/buckets/result_store.ts";
import { openBucket } from "../../client/buckets/buckets.ts";
import { namesFor } from "../../client/topology.ts";
import { listWorkers } from "../presence.ts";
import { groupWaiting, JOB_LIST_LIMIT, type JobFilter, type JobListState, type JobRow, recordRows, runningRows } from "./job_rows.ts";
import { readDelayed, readWaiting } from "./job_reads.ts";
import { ResultIndex } from "./result_index.ts";

/** A list as the API answers it; `groups` (by priority) for waiting only. */
export interface JobList {
  state: JobListState;
  jobs: JobRow[];
  groups?: Record<string, JobRow[]>;
}

/** A job's page: its record (with its earlier attempts) and, for a flow, its steps. */
export interface JobPage {
  id: string;
  record: ResultRecord | null;
  steps: { id: string; task: string; state: string; finishedAt: number }[];
}

/** What a retry published. */
export interface Retried {
  id: string;
  subject: string;
  seq: number;
  duplicate: boolean;
}

/** The message that enqueues a failed job again; a one-line error when its record cannot give one. Pure. */
export function retryMessage(r: ResultRecord | null, id: string): { subject: string; body: string; headers: [string, string][]; msgId: string } | string {
  if (r === null) return `Cannot retry job '${id}' as it has no record: it never ran, or its record expired`;
  if (r.state !== "FAILURE") return `Cannot retry job '${id}' as it did not fail: its state is ${r.state}`;
  if (r.job === undefined) {
    return r.deadLetter !== undefined
      ? `Cannot retry job '${id}' as it was dead-lettered: replay it from the dead letters`
      : `Cannot retry job '${id}' as its message was not kept (larger than 64 KiB, not UTF-8, or stored by an older qw)`;
  }
  const retries = r.retries + 1;
  const headers = r.job.headers.filter(([k]) => !/^(qw-id|qw-retries|qw-expires)$/i.test(k));
  headers.push(["Qw-Id", id], ["Qw-Retries", String(retries)]);
  return { subject: r.job.subject, body: r.job.body, headers, msgId: `${id}:again:${retries}` };
}

/** The lists of one stream. */
export class JobLists {
  #nc: NatsConnection;
  #jsm: JetStreamManager;
  #stream: string;
  #names: ReturnType<typeof namesFor>;
  #index: ResultIndex;

  constructor(nc: NatsConnection, jsm: JetStreamManager, o: { stream: string; consumer?: string | null }) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#stream = o.stream;
    this.#names = namesFor(o.stream, o.consumer);
    this.#index = new ResultIndex(jetstream(nc), jsm, this.#names.resultsBucket);
  }

  /** One list, filtered. */
  async list(state: JobListState, f: JobFilter = {}): Promise<JobList> {
    switch (state) {
      case "running": {
        const workers = await this.#workers();
        const results = await openBucket(this.#jsm, this.#names.resultsBucket);
        const progress = new Map<string, number>();
        const rows = runningRows(workers, progress, f);
        await Promise.all(rows.map(async (r) => {
          const e = await results?.get(keyFor(r.id)).catch(() => null);
          const p = e?.operation === "PUT" ? e.json<ResultRecord>().progress : undefined;
          if (p !== undefined) r.progress = p.fraction;
        }));
        return { state, jobs: rows };
      }
      case "failed":
      case "revoked":
      case "expired":
        await this.#index.refresh();
        return { state, jobs: recordRows(this.#index.records.values(), state, f) };
      case "waiting": {
        const running = new Set((await this.#workers()).flatMap((w) => w.running));
        const rows = await readWaiting(this.#jsm, this.#stream, running, f, JOB_LIST_LIMIT);
        const groups = groupWaiting(rows);
        return { state, jobs: Object.values(groups).flat(), groups };
      }
      case "delayed":
        return { state, jobs: await readDelayed(this.#jsm, this.#stream, f, JOB_LIST_LIMIT) };
    }
  }

  /** A job's page: its record with every attempt and, for a flow, its steps (`<id>.<path>`) in the latest results. */
  async page(id: string): Promise<JobPage> {
    const results = await openBucket(this.#jsm, this.#names.resultsBucket);
    const e = results === null ? null : await results.get(keyFor(id));
    const record = e?.operation === "PUT" ? e.json<ResultRecord>() : null;
    await this.#index.refresh();
    const steps = [...this.#index.records.values()]
      .filter((r) => r.id.startsWith(`${id}.`))
      .map((r) => ({ id: r.id, task: r.task, state: r.state, finishedAt: r.finishedAt }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { id, record, steps };
  }

  /** Enqueue a failed job again (see the module's doc); throws a one-line error when it cannot be. */
  async retry(id: string): Promise<Retried> {
    const results = await openBucket(this.#jsm, this.#names.resultsBucket);
    const e = results === null ? null : await results.get(keyFor(id));
    const m = retryMessage(e?.operation === "PUT" ? e.json<ResultRecord>() : null, id);
    if (typeof m === "string") throw new RangeError(m);
    const h = makeHeaders();
    for (const [k, v] of m.headers) h.append(k, v);
    const ack = await jetstream(this.#nc).publish(m.subject, m.body, { msgID: m.msgId, headers: h });
    return { id, subject: m.subject, seq: ack.seq, duplicate: ack.duplicate };
  }

  async #workers() {
    const kv = await openBucket(this.#jsm, this.#names.workersBucket);
    return kv === null ? [] : await listWorkers(kv);
  }
}
