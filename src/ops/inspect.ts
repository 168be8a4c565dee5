/**
 * The numbers of `qw inspect`, from the server's own stream and consumer
 * info, and their text table. Pure: the caller fetches the info (with
 * `subjects_filter: "<stream>.>"` for per-subject counts) and passes `now`.
 *
 * @module
 */

import type { WorkerRecord } from "./presence.ts";
import { DEFAULT_PRIORITY, splitPrioritySubject } from "../core/job/priority.ts";

/** The parts of a JetStream stream info that inspect reads. */
export interface StreamInfoLike {
  state: { messages: number; subjects?: Record<string, number> };
}

/** The parts of a JetStream consumer info that inspect reads. */
export interface ConsumerInfoLike {
  name: string;
  config: { filter_subject?: string };
  delivered: { stream_seq: number; last_active?: string | number };
  ack_floor: { stream_seq: number; last_active?: string | number };
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
}

/** One consumer of the work stream. */
export interface ConsumerReport {
  name: string;
  filter: string | null;
  /** Messages not yet delivered to any worker. */
  pending: number;
  /** Delivered and not yet acked. */
  ackPending: number;
  /** Delivered and not yet acked, delivered more than once. */
  redelivered: number;
  /** Pull requests waiting at the server: idle worker capacity. */
  waitingPulls: number;
  /** ISO time of the last delivery, or null. */
  lastDelivered: string | null;
  /** ISO time of the last ack that moved the ack floor, or null. */
  lastAcked: string | null;
  /** The later of the two, or null. */
  lastActive: string | null;
}

/** Jobs of one task name. */
export interface TaskReport {
  task: string;
  /** Stored on `<stream>.<task>`: waiting, or running and not yet acked. */
  queued: number;
  /** Stored on `<stream>._delayed.<task>` or held by the server on `<stream>._sched.<task>.*`: waiting for their eta. */
  delayed: number;
}

/** Jobs of one priority level: its consumer's counts. */
export interface PriorityReport {
  priority: number;
  /** Not yet delivered to any worker. */
  waiting: number;
  /** Delivered and not acked. */
  inFlight: number;
}

/** What `qw inspect` shows. */
export interface InspectReport {
  stream: string;
  /** The consumer qw workers share. */
  consumer: string;
  /** ISO time of the snapshot. */
  at: string;
  /** Messages stored in the work stream. */
  messages: number;
  /** Jobs no worker has received yet (the pending counts of the shared consumer and of every priority level's, and the keys' jobs not delivered). */
  waiting: number;
  /** Per priority level that has a consumer, highest first (see the README's "Priorities"). */
  priorities: PriorityReport[];
  /**
   * Jobs delivered to a worker and not acked (the shared consumer's ack pending). The server cannot tell
   * running from held: these are acksLate jobs running, and jobs a worker received but has not started
   * (early-ack jobs are acked when they start, so they leave this count then).
   */
  inFlight: number;
  /** In-flight jobs delivered more than once. */
  redelivered: number;
  /** Jobs waiting for their eta on the delayed subjects. */
  delayed: number;
  /** Messages in the dead-letter stream. */
  deadLettered: number;
  /** False when the shared consumer does not exist yet (no worker ran). */
  consumerFound: boolean;
  tasks: TaskReport[];
  consumers: ConsumerReport[];
  /** The qw processes that are running (their records in `qw_<stream>_workers`). */
  workers: WorkerRecord[];
}

const EPOCH = Date.parse("1971-01-01T00:00:00Z");

/** An info `last_active` as an ISO time; null when absent or the zero time. */
export function activeAt(value: string | number | undefined): string | null {
  if (value === undefined || value === null || value === "") return null;
  const ms = typeof value === "number" ? value / 1e6 : Date.parse(value);
  return Number.isFinite(ms) && ms > EPOCH ? new Date(ms).toISOString() : null;
}

/** Split per-subject counts of `<stream>.>` into task rows, sorted by name. */
export function taskCounts(stream: string, subjects: Record<string, number> = {}): TaskReport[] {
  const rows = new Map<string, TaskReport>();
  const row = (task: string) => rows.get(task) ?? rows.set(task, { task, queued: 0, delayed: 0 }).get(task)!;
  const prefix = `${stream}.`;
  const delayedPrefix = `${stream}._delayed.`;
  // A job the server holds: one schedule per subject, `<stream>._sched.<task>.<token>`.
  const schedPrefix = `${stream}._sched.`;
  // A job with a concurrency key: `<stream>._key.<task>.<key token>`, waiting or running.
  const keyPrefix = `${stream}._key.`;
  for (const [subject, n] of Object.entries(subjects)) {
    if (subject.startsWith(keyPrefix)) row(subject.slice(keyPrefix.length).split(".")[0]).queued += n;
    else if (subject.startsWith(delayedPrefix)) row(subject.slice(delayedPrefix.length)).delayed += n;
    else if (subject.startsWith(schedPrefix)) row(subject.slice(schedPrefix.length).split(".")[0]).delayed += n;
    else if (subject.startsWith(prefix)) row(splitPrioritySubject(subject.slice(prefix.length)).task).queued += n;
  }
  return [...rows.values()].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
}

/** One consumer's row. */
export function consumerReport(c: ConsumerInfoLike): ConsumerReport {
  const lastDelivered = activeAt(c.delivered?.last_active);
  const lastAcked = activeAt(c.ack_floor?.last_active);
  const lastActive = lastDelivered === null
    ? lastAcked
    : lastAcked === null || lastDelivered > lastAcked
    ? lastDelivered
    : lastAcked;
  return {
    name: c.name,
    filter: c.config.filter_subject || null,
    pending: c.num_pending,
    ackPending: c.num_ack_pending,
    redelivered: c.num_redelivered,
    waitingPulls: c.num_waiting,
    lastDelivered,
    lastAcked,
    lastActive,
  };
}

/** Build the report from the server's info. */
/** The rows of each priority level, highest first, from the consumers `<consumer>` (5) and `<consumer>_p<N>`. Pure. */
export function priorityCounts(consumer: string, consumers: readonly ConsumerReport[]): PriorityReport[] {
  const out: PriorityReport[] = [];
  for (const c of consumers) {
    const m = c.name === consumer ? [DEFAULT_PRIORITY] : c.name.startsWith(`${consumer}_p`) ? /^\d$/.exec(c.name.slice(consumer.length + 2)) : null;
    if (m) out.push({ priority: Number(m[0]), waiting: c.pending, inFlight: c.ackPending });
  }
  return out.sort((a, b) => b.priority - a.priority);
}

export function buildReport(input: {
  stream: string;
  consumer: string;
  streamInfo: StreamInfoLike;
  dlqInfo: StreamInfoLike | null;
  consumers: ConsumerInfoLike[];
  workers?: WorkerRecord[];
  now: number;
}): InspectReport {
  const tasks = taskCounts(input.stream, input.streamInfo.state.subjects);
  const consumers = input.consumers.map(consumerReport).sort((
    a,
    b,
  ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const main = consumers.find((c) => c.name === input.consumer);
  const sum = (f: (t: TaskReport) => number) => tasks.reduce((n, t) => n + f(t), 0);
  const priorities = priorityCounts(input.consumer, consumers);
  const levels = (f: (p: PriorityReport) => number) => priorities.reduce((n, p) => n + f(p), 0);
  // Jobs with a concurrency key wait on their key's subject, each key with a consumer of its own.
  const keyPrefix = `${input.stream}._key.`;
  const keyed = Object.entries(input.streamInfo.state.subjects ?? {}).reduce((n, [s, c]) => s.startsWith(keyPrefix) ? n + c : n, 0);
  const keyAcks = consumers.reduce((n, c) => c.filter?.startsWith(keyPrefix) ? n + c.ackPending : n, 0);
  return {
    stream: input.stream,
    consumer: input.consumer,
    at: new Date(input.now).toISOString(),
    messages: input.streamInfo.state.messages,
    waiting: (main ? levels((p) => p.waiting) + keyed : sum((t) => t.queued)) - keyAcks,
    priorities,
    inFlight: (main ? levels((p) => p.inFlight) : 0) + keyAcks,
    redelivered: main?.redelivered ?? 0,
    delayed: sum((t) => t.delayed),
    deadLettered: input.dlqInfo?.state.messages ?? 0,
    consumerFound: main !== undefined,
    tasks,
    consumers,
    workers: input.workers ?? [],
  };
}

/** "never", "now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(iso: string | null, now: number): string {
  if (iso === null) return "never";
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 1) return "now";
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A plain-text table: left-aligned text, right-aligned numbers, two spaces between columns. */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd())
    .join("\n");
}

/** The workers table as text. Pure. */
export function formatWorkers(workers: WorkerRecord[], now: number): string {
  if (workers.length === 0) return "Workers: none running";
  return renderTable(
    ["worker", "host", "pid", "version", "ready", "done", "failed", "retried", "running", "started", "state"],
    workers.map((w) => [
      w.name, w.host, w.pid, w.version, `${w.ready}/${w.concurrency}`, w.done, w.failed, w.retried,
      w.running.length === 0 ? "-" : w.running.join(","), formatAgo(w.startedAt, now), w.draining ? "draining" : "running",
    ]),
  );
}

/** The report as text for a terminal. */
export function formatReport(r: InspectReport, now: number): string {
  const out: string[] = [];
  out.push(`Stream '${r.stream}' at ${r.at}`);
  out.push(
    renderTable(["", "jobs"], [
      ["waiting", r.waiting],
      ["delivered, not acked", r.inFlight],
      ["redelivered", r.redelivered],
      ["delayed", r.delayed],
      ["dead-lettered", r.deadLettered],
    ]),
  );
  if (r.inFlight > 0) {
    out.push(
      "(delivered, not acked: held by a worker, running with acksLate or not started yet; the server cannot tell which)",
    );
  }
  if (r.priorities.some((p) => p.priority !== DEFAULT_PRIORITY && p.waiting + p.inFlight > 0)) {
    out.push(`Waiting by priority: ${r.priorities.map((p) => `${p.priority}: ${p.waiting}`).join(", ")}`);
  }
  if (!r.consumerFound) out.push(`Consumer '${r.consumer}' not found: no worker has run on this stream yet`);
  out.push("");
  if (r.tasks.length === 0) out.push("Tasks: no jobs stored");
  else out.push(renderTable(["task", "queued", "delayed"], r.tasks.map((t) => [t.task, t.queued, t.delayed])));
  out.push("");
  out.push(formatWorkers(r.workers, now));
  out.push("");
  if (r.consumers.length === 0) out.push("Consumers: none");
  else {
    out.push(renderTable(
      ["consumer", "pending", "ack pending", "redelivered", "waiting pulls", "last delivered", "last ack"],
      r.consumers.map((c) => [
        c.name,
        c.pending,
        c.ackPending,
        c.redelivered,
        c.waitingPulls,
        formatAgo(c.lastDelivered, now),
        formatAgo(c.lastAcked, now),
      ]),
    ));
  }
  return out.join("\n") + "\n";
}
