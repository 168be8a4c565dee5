/**
 * What the dashboard reads and does on the server, for one work stream:
 * the overview (stream, consumers, dead letters, worker records, schedules;
 * cached for a second so any number of open pages costs one read a second),
 * a job's record, the recent dead letters, and replay, purge and revoke.
 * The numbers are computed in overview.ts and rate.ts.
 *
 * @module
 */

import { jetstream, type StreamInfo } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Client, PendingResult, TaskResult } from "../../client/client.ts";
import { isFinalState } from "../../core/types.ts";
import { namesFor } from "../../client/topology.ts";
import { type DeadLetter, DeadLetters, parseDeadLetter, type Replayed } from "../dlq.ts";
import { buildReport } from "../inspect.ts";
import { readServerView } from "../server_view.ts";
import { openBucket } from "../../client/buckets/buckets.ts";
import { listWorkers, type WorkerRecord } from "../presence.ts";
import { buildOverview, type Overview } from "./overview.ts";
import { RateHistory } from "./rate.ts";
import { readSchedules } from "./schedules.ts";
import { isNotFound, isStreamNotFound } from "../../client/server_errors.ts";
import { activePauses, pause, pauseJson, resume } from "../pause_control.ts";
import { readHistory } from "../history/stats_read.ts";
import { withHistory } from "../history/overview_history.ts";
import type { JobOps } from "./lists/jobs_api.ts";
import { type JobList, JobLists, type JobPage, type Retried } from "../jobs/job_lists.ts";
import type { JobFilter, JobListState } from "../jobs/job_rows.ts";

/** A job's record, and the workers running it now (from their records) when it has not ended. */
export type JobView = (TaskResult | PendingResult) & { runningOn?: string[] };

/** How many dead letters the page lists: the most recent. */
export const DLQ_LIST_LIMIT = 100;

/** The operations behind the JSON API; api.ts talks to this interface only. */
export interface DashboardOps extends JobOps {
  overview(): Promise<Overview>;
  job(id: string): Promise<JobView>;
  deadLetters(): Promise<{ total: number; letters: DeadLetter[] }>;
  deadLetter(seq: number): Promise<DeadLetter>;
  replay(seq: number): Promise<Replayed>;
  purge(): Promise<number>;
  revoke(id: string, terminate: boolean): Promise<{ revoked: boolean; state: string }>;
  /** Pause the stream (task null) or a task until `until` (epoch ms; null: until resumed). */
  pause(task: string | null, until: number | null): Promise<PauseReply>;
  resume(task: string | null): Promise<PauseReply>;
}

/** What a pause or resume from the dashboard answers. */
export interface PauseReply {
  task: string | null;
  paused: boolean;
  /** ISO 8601, or null. */
  until: string | null;
  /** 2.11+, whole stream: the consumer was paused or resumed on the server too. */
  consumerPaused: boolean;
}


/** The dashboard's view of one stream through a connected client. */
export class DashboardSource implements DashboardOps {
  readonly stream: string;
  #client: Client;
  #consumer: string;
  #dlq: DeadLetters;
  #rate = new RateHistory();
  #cached: { at: number; value: Promise<Overview> } | null = null;
  #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #workersKv: KV | null = null;
  #lists: JobLists;
  #listCache = new Map<string, { at: number; value: Promise<JobList> }>();

  constructor(client: Client, options: { consumer?: string | null; now?: () => number } = {}) {
    this.#client = client;
    this.stream = client.stream;
    this.#consumer = namesFor(client.stream, options.consumer).consumer;
    this.#dlq = new DeadLetters(jetstream(client.nc), client.jsm, client.stream);
    this.#now = options.now ?? Date.now;
    this.#lists = new JobLists(client.nc, client.jsm, { stream: client.stream, consumer: this.#consumer });
  }

  /** A list, read at most once a second per list and filter however many pages poll it. */
  jobs(state: JobListState, filter: JobFilter): Promise<JobList> {
    const key = JSON.stringify([state, filter.task ?? "", filter.prefix ?? ""]);
    const now = this.#now();
    const hit = this.#listCache.get(key);
    if (hit !== undefined && now - hit.at < 1000) return hit.value;
    if (this.#listCache.size > 50) this.#listCache.clear();
    const value = this.#lists.list(state, filter);
    this.#listCache.set(key, { at: now, value });
    value.catch(() => this.#listCache.delete(key));
    return value;
  }

  jobPage(id: string): Promise<JobPage> {
    return this.#lists.page(id);
  }

  async retry(id: string): Promise<Retried> {
    const r = await this.#lists.retry(id);
    this.#cached = null;
    this.#listCache.clear();
    return r;
  }

  /** Sample the stream once a second for the chart, also while no page is open. */
  start(): void {
    this.#timer ??= setInterval(() => void this.#sample().catch(() => {}), 1000);
    void this.#sample().catch(() => {});
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  overview(): Promise<Overview> {
    const now = this.#now();
    if (this.#cached === null || now - this.#cached.at >= 900) {
      const value = this.#read(now);
      this.#cached = { at: now, value };
      value.catch(() => (this.#cached = null));
    }
    return this.#cached.value;
  }

  async job(id: string): Promise<JobView> {
    const record = await this.#client.get(id);
    if (isFinalState(record.state)) return record;
    // Without trackStarted a running job has no record yet: the worker records say where it runs.
    const workers = await this.#workers(namesFor(this.stream, this.#consumer).workersBucket);
    const runningOn = workers.filter((w) => w.running.includes(id)).map((w) => w.name);
    return runningOn.length > 0 ? { ...record, runningOn } : record;
  }

  /** The most recent dead letters (at most {@linkcode DLQ_LIST_LIMIT}), newest first, and how many there are. */
  async deadLetters(): Promise<{ total: number; letters: DeadLetter[] }> {
    let info: StreamInfo;
    try {
      info = await this.#client.jsm.streams.info(this.#dlq.dlqStream);
    } catch (e) {
      if (isStreamNotFound(e)) return { total: 0, letters: [] };
      throw e;
    }
    const letters: DeadLetter[] = [];
    const { first_seq: first, last_seq: last, messages } = info.state;
    // Replays delete single messages: walk back over the gaps, a bounded number of reads.
    for (let seq = last, reads = 0; seq >= first && letters.length < DLQ_LIST_LIMIT && reads < DLQ_LIST_LIMIT * 4; seq--, reads++) {
      const m = await this.#client.jsm.streams.getMessage(this.#dlq.dlqStream, { seq }).catch((e) => {
        if (isNotFound(e)) return null;
        throw e;
      });
      if (!m) continue;
      const headers: [string, string][] = [];
      if (m.header) for (const [k, vs] of m.header) for (const v of vs) headers.push([k, v]);
      letters.push(parseDeadLetter({ seq: m.seq, subject: m.subject, headers, data: m.data, time: m.time }, this.stream));
    }
    return { total: messages, letters };
  }

  deadLetter(seq: number): Promise<DeadLetter> {
    return this.#dlq.get(seq);
  }

  async replay(seq: number): Promise<Replayed> {
    const r = await this.#dlq.replay(seq);
    this.#cached = null;
    return r;
  }

  async purge(): Promise<number> {
    const n = await this.#dlq.purge();
    this.#cached = null;
    return n;
  }

  revoke(id: string, terminate: boolean): Promise<{ revoked: boolean; state: string }> {
    return this.#client.revoke(id, { terminate });
  }

  async pause(task: string | null, until: number | null): Promise<PauseReply> {
    const r = await pause(this.#client.nc, { stream: this.stream, consumer: this.#consumer, task }, { until, by: "dashboard" });
    this.#cached = null;
    return { task, paused: true, until: until === null ? null : new Date(until).toISOString(), consumerPaused: r.consumerPaused };
  }

  async resume(task: string | null): Promise<PauseReply> {
    const r = await resume(this.#client.nc, { stream: this.stream, consumer: this.#consumer, task });
    this.#cached = null;
    return { task, paused: false, until: null, consumerPaused: r.consumerPaused };
  }

  async #sample(): Promise<StreamInfo> {
    const info = await this.#client.jsm.streams.info(this.stream);
    this.#rate.add({ at: this.#now(), lastSeq: info.state.last_seq, messages: info.state.messages });
    return info;
  }

  async #read(now: number): Promise<Overview> {
    const jsm = this.#client.jsm;
    const view = await readServerView(jsm, this.stream);
    if (view === null) throw new Error(`Cannot read stream '${this.stream}': stream not found (start a worker with --stream ${this.stream} first)`);
    const names = namesFor(this.stream, this.#consumer);
    const [workers, schedules, paused, history] = await Promise.all([
      this.#workers(names.workersBucket),
      readSchedules(jsm, this.stream, now),
      activePauses(jsm, this.stream, now),
      readHistory(jsm, this.stream, now),
    ]);
    const report = buildReport({ stream: this.stream, consumer: this.#consumer, ...view, workers, now });
    const { dlqInfo } = view;
    const overview = buildOverview({ report, dlqSubjects: dlqInfo?.state.subjects, dlqLastSeq: dlqInfo?.state.last_seq, schedules, rate: this.#rate.points() });
    return { ...withHistory(overview, history), paused: paused.map(pauseJson) };
  }

  async #workers(bucket: string): Promise<WorkerRecord[]> {
    this.#workersKv ??= await openBucket(this.#client.jsm, bucket);
    if (this.#workersKv === null) return [];
    try {
      return await listWorkers(this.#workersKv);
    } catch (e) {
      this.#workersKv = null; // the bucket may be gone: look it up again next time
      throw e;
    }
  }
}
