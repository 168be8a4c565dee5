/**
 * Worker metrics from {@linkcode QwEvent}s, rendered in the Prometheus text
 * exposition format (version 0.0.4). Pure: no I/O, no timers; the HTTP
 * server in http.ts serves {@linkcode Metrics.render}.
 *
 * - `qw_jobs_total{task,outcome}`: every settled job, `outcome` one of {@linkcode OUTCOMES}
 *   (`expired`: not started by its expiry, stored REVOKED).
 * - `qw_retries_total{task}`: retries scheduled.
 * - `qw_worker_lost_total`, `qw_time_limits_total`: Web Workers lost or killed at a time limit.
 * - `qw_redeliveries_seen_total`: jobs started with a delivery count above 1.
 * - `qw_jobs_handed_back_total{reason}`: held jobs given back unfinished (`shutdown`, `waited`, `stall`, `paused`).
 * - `qw_jobs_in_flight`: jobs started and not yet settled; `qw_jobs_held`: jobs this process holds
 *   (waiting or running); `qw_pool_size`: Web Workers ready to run jobs.
 * - `qw_job_duration_seconds{task}`: run time of succeeded and failed jobs.
 *
 * @module
 */

import type { QwEvent } from "../core/events.ts";

/** The `outcome` label values of `qw_jobs_total`, in the order they are rendered. */
export const OUTCOMES = ["succeeded", "failed", "retried", "rejected", "requeued", "ignored", "revoked", "expired", "invalid"] as const;
/** How a job was settled. */
export type JobOutcome = typeof OUTCOMES[number];

/** Upper bounds in seconds of the duration histogram buckets (`+Inf` is implied). */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
]);

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** The work stream: `job.invalid` events carry a subject, and the task is what follows `<stream>.`. */
  stream: string;
  /** The pool size until the pool reports how many Web Workers are ready. */
  poolSize?: number;
  /** Jobs this process holds now, read when rendering. */
  held?: () => number;
  buckets?: readonly number[];
}

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Every value, for tests and embedders; `render()` is the same data as text. */
export interface MetricsSnapshot {
  jobs: Record<string, Partial<Record<JobOutcome, number>>>;
  retries: Record<string, number>;
  workerLost: number;
  timeLimits: number;
  redeliveriesSeen: number;
  handedBack: Record<string, number>;
  inFlight: number;
  poolSize: number;
  durations: Record<string, { count: number; sum: number }>;
}

const EVENT_OUTCOME: Partial<Record<QwEvent["type"], JobOutcome>> = {
  "job.succeeded": "succeeded",
  "job.failed": "failed",
  "job.retry_scheduled": "retried",
  "job.rejected": "rejected",
  "job.requeued": "requeued",
  "job.ignored": "ignored",
  "job.revoked": "revoked",
  "job.expired": "expired",
  "job.invalid": "invalid",
};

/** Counters, gauges and a histogram fed by events; attach `listener` to an emitter. */
export class Metrics {
  /** Pass to `Emitter.on`. */
  readonly listener = (e: QwEvent): void => this.observe(e);
  #prefix: string;
  #buckets: readonly number[];
  #jobs = new Map<string, Map<JobOutcome, number>>();
  #retries = new Map<string, number>();
  #durations = new Map<string, Histogram>();
  #workerLost = 0;
  #timeLimits = 0;
  #redeliveries = 0;
  /** Started, unsettled jobs by stream sequence: a redelivery may overlap its first delivery. */
  #running = new Map<number, number>();
  #inFlight = 0;
  #poolSize: number;
  #handedBack = new Map<string, number>();
  #held: () => number;

  constructor(options: MetricsOptions) {
    this.#prefix = options.stream + ".";
    this.#held = options.held ?? (() => 0);
    this.#poolSize = options.poolSize ?? 0;
    this.#buckets = [...(options.buckets ?? DURATION_BUCKETS)].sort((a, b) => a - b);
  }

  /** Account for one event. Never throws. */
  observe(e: QwEvent): void {
    switch (e.type) {
      case "job.started":
        if (e.deliveryCount > 1) this.#redeliveries++;
        this.#running.set(e.seq, (this.#running.get(e.seq) ?? 0) + 1);
        this.#inFlight++;
        return;
      case "job.handed_back":
        this.#handedBack.set(e.cause, (this.#handedBack.get(e.cause) ?? 0) + 1);
        this.#settle(e.seq);
        return;
      case "job.invalid":
        this.#count(e.subject.startsWith(this.#prefix) ? e.subject.slice(this.#prefix.length) : e.subject, "invalid");
        return;
      case "job.succeeded":
      case "job.failed":
        this.#observeDuration(e.task, e.ms / 1000);
        break;
      case "job.retry_scheduled":
        this.#retries.set(e.task, (this.#retries.get(e.task) ?? 0) + 1);
        break;
      case "job.rejected":
      case "job.requeued":
      case "job.ignored":
      case "job.revoked":
      case "job.expired":
        break;
      case "worker.lost":
        this.#workerLost++;
        return;
      case "worker.time_limit":
        this.#timeLimits++;
        return;
      case "pool.size":
        this.#poolSize = e.ready;
        return;
      case "service.closed":
        this.#running.clear();
        this.#inFlight = 0;
        return;
      default:
        return;
    }
    this.#count(e.task, EVENT_OUTCOME[e.type]!);
    this.#settle(e.seq);
  }

  /** The current values as plain data. */
  snapshot(): MetricsSnapshot {
    const jobs: MetricsSnapshot["jobs"] = {};
    for (const [task, m] of this.#jobs) jobs[task] = Object.fromEntries(m);
    const durations: MetricsSnapshot["durations"] = {};
    for (const [task, h] of this.#durations) durations[task] = { count: h.count, sum: h.sum };
    return {
      jobs,
      retries: Object.fromEntries(this.#retries),
      workerLost: this.#workerLost,
      timeLimits: this.#timeLimits,
      redeliveriesSeen: this.#redeliveries,
      handedBack: Object.fromEntries(this.#handedBack),
      inFlight: this.#inFlight,
      poolSize: this.#poolSize,
      durations,
    };
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("qw_jobs_total", "counter", "Jobs settled, by task and outcome.");
    for (const task of sorted(this.#jobs.keys())) {
      const m = this.#jobs.get(task)!;
      for (const outcome of OUTCOMES) {
        const n = m.get(outcome);
        if (n !== undefined) out.push(`qw_jobs_total${labels({ task, outcome })} ${n}`);
      }
    }
    family("qw_retries_total", "counter", "Retries scheduled, by task.");
    for (const task of sorted(this.#retries.keys())) {
      out.push(`qw_retries_total${labels({ task })} ${this.#retries.get(task)}`);
    }
    family("qw_worker_lost_total", "counter", "Web Workers lost while running jobs.");
    out.push(`qw_worker_lost_total ${this.#workerLost}`);
    family("qw_time_limits_total", "counter", "Web Workers terminated because a job passed its time limit.");
    out.push(`qw_time_limits_total ${this.#timeLimits}`);
    family("qw_redeliveries_seen_total", "counter", "Jobs started with a delivery count above 1.");
    out.push(`qw_redeliveries_seen_total ${this.#redeliveries}`);
    family("qw_jobs_handed_back_total", "counter", "Held jobs given back to the server unfinished, by reason.");
    for (const reason of sorted(this.#handedBack.keys())) {
      out.push(`qw_jobs_handed_back_total${labels({ reason })} ${this.#handedBack.get(reason)}`);
    }
    family("qw_jobs_in_flight", "gauge", "Jobs started and not yet settled.");
    out.push(`qw_jobs_in_flight ${this.#inFlight}`);
    family("qw_jobs_held", "gauge", "Jobs this process holds: waiting in the pool or running.");
    out.push(`qw_jobs_held ${this.#held()}`);
    family("qw_pool_size", "gauge", "Web Workers ready to run jobs.");
    out.push(`qw_pool_size ${this.#poolSize}`);
    family("qw_job_duration_seconds", "histogram", "Run time of succeeded and failed jobs, by task.");
    for (const task of sorted(this.#durations.keys())) {
      const h = this.#durations.get(task)!;
      let cumulative = 0;
      this.#buckets.forEach((le, i) => {
        cumulative += h.counts[i];
        out.push(`qw_job_duration_seconds_bucket${labels({ task, le: num(le) })} ${cumulative}`);
      });
      out.push(`qw_job_duration_seconds_bucket${labels({ task, le: "+Inf" })} ${h.count}`);
      out.push(`qw_job_duration_seconds_sum${labels({ task })} ${num(h.sum)}`);
      out.push(`qw_job_duration_seconds_count${labels({ task })} ${h.count}`);
    }
    return out.join("\n") + "\n";
  }

  #count(task: string, outcome: JobOutcome): void {
    let m = this.#jobs.get(task);
    if (!m) this.#jobs.set(task, m = new Map());
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  #settle(seq: number): void {
    const n = this.#running.get(seq);
    if (n === undefined) return;
    if (n <= 1) this.#running.delete(seq);
    else this.#running.set(seq, n - 1);
    this.#inFlight--;
  }

  #observeDuration(task: string, seconds: number): void {
    let h = this.#durations.get(task);
    if (!h) this.#durations.set(task, h = { counts: this.#buckets.map(() => 0), sum: 0, count: 0 });
    const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    const i = this.#buckets.findIndex((le) => s <= le);
    if (i >= 0) h.counts[i]++;
    h.sum += s;
    h.count++;
  }
}

const sorted = (keys: Iterable<string>): string[] => [...keys].sort();

/** A sample value as Prometheus reads it. */
function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  return String(n);
}

/** `{a="x",b="y"}` with label values escaped as the text format requires. */
export function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([k, v]) =>
    `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return `{${parts.join(",")}}`;
}
