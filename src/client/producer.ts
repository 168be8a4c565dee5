/**
 * Publishing job messages: first attempts, retries, delayed releases and
 * dead letters. The wire format lives here (see README "Wire format").
 *
 * Dedup ids (`Nats-Msg-Id`) make every publish safe to repeat after a crash:
 * a first attempt uses the task id itself, retry n uses `<id>:<n>`, a message
 * waiting for its eta adds `:eta` (held by qw or by the server alike), qw's
 * release adds `:go` to that, and a dead letter is `dlq:<stream>:<seq>`. The
 * job the server publishes from a schedule carries no dedup id: the server
 * drops it, and removes the schedule as it publishes the job.
 *
 * @module
 */

import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as makeHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { delayedSubject, jobSubject, scheduleSubject } from "./topology.ts";
import type { SerializedError } from "../core/types.ts";
import { atSchedule, delayForm, type DelayHolder } from "../core/job/delay_hold.ts";
import { releaseAt } from "../core/job/expiry.ts";
import { keySubject } from "../core/job/concurrency_key.ts";
import { DEFAULT_PRIORITY } from "../core/job/priority.ts";

/** Header names of the wire format. */
export const Header = {
  id: "Qw-Id",
  retries: "Qw-Retries",
  eta: "Qw-Eta",
  /** Runs before this copy of a job that a worker handed back without running it. */
  runs: "Qw-Runs",
  /** Epoch ms from which the job must not start (see core/job/expiry.ts). */
  expires: "Qw-Expires",
  /** The priority of a job on the delayed subject (other jobs carry it in their subject): the level it is released to. */
  priority: "Qw-Priority",
  /** The server's per-message TTL in seconds (2.11+, stream `allow_msg_ttl`): a backstop after the expiry. */
  ttl: "Nats-TTL",
  msgId: "Nats-Msg-Id",
  /** The job's unique key (README "Unique jobs and debounce"); kept by its retries and copies. */
  unique: "Qw-Unique",
  /** The job's concurrency key (README "Per-key concurrency"); kept by its retries and copies. */
  concurrencyKey: "Qw-Concurrency-Key",
  /** Seconds of a debounced job's window (first attempt only). */
  debounce: "Qw-Debounce",
  dlqReason: "Qw-Dlq-Reason",
  dlqError: "Qw-Dlq-Error",
  dlqSubject: "Qw-Dlq-Subject",
  dlqSeq: "Qw-Dlq-Seq",
  dlqDeliveries: "Qw-Dlq-Deliveries",
  dlqAt: "Qw-Dlq-At",
  /** ADR-51: a job held by the server carries its time and where it goes, and the job it becomes names its schedule. */
  schedule: "Nats-Schedule",
  scheduleTarget: "Nats-Schedule-Target",
  scheduler: "Nats-Scheduler",
  scheduleNext: "Nats-Schedule-Next",
} as const;

/** How delayed jobs go out: held by the server (2.12+, `allow_msg_schedules`) or by qw (see core/job/delay_hold.ts). */
export interface PublishOptions {
  /** @default "qw" */
  delays?: DelayHolder;
}

/**
 * The headers of an atomic batch (ADR-50) that the server stores with each
 * member. A copy of a stored job (its release, its dead letter) is published
 * alone, and would be taken for a batch member, so they are never copied. Pure.
 */
export const isBatchHeader = (name: string): boolean => /^nats-batch-/i.test(name);

/** The header that marks a step of a flow; its body carries `flow` (see worker/flows/flow_runner.ts). */
export const FLOW_HEADER = "Qw-Flow";

/** The subject a flow is started on: a worker publishes its first steps. */
export const flowStartSubject = (stream: string): string => `${stream}._flow`;

/** A job to publish. */
export interface OutgoingJob {
  task: string;
  /** The JSON body, `{"args": [...]}`, as bytes. */
  data: Uint8Array;
  id: string;
  retries: number;
  /** Epoch milliseconds before which the job must not run; null runs now. */
  etaMs: number | null;
  headers?: Record<string, string>;
  /** Appended to the dedup id, for a copy of an attempt that must not be taken for it. */
  dedupSuffix?: string;
  /** Epoch ms from which the job must not start (`Qw-Expires`); kept by every retry. */
  expiresAt?: number | null;
  /** Seconds the server keeps the message (`Nats-TTL`); only for a stream with `allow_msg_ttl`. */
  ttl?: number;
  /** The name a held schedule's subject is made of instead of the dedup id: a debounced job's, shared by its burst. */
  scheduleName?: string;
  /** 0 (lowest) to 9; the default (5) goes on the plain subject. A delayed job carries it in `Qw-Priority`. */
  priority?: number;
}

/** The dedup id of an attempt; see the module doc. */
export function msgIdFor(id: string, retries: number, delayed: boolean): string {
  const base = retries === 0 ? id : `${id}:${retries}`;
  return delayed ? `${base}:eta` : base;
}

/** A job as it goes on the wire: subject, dedup id, headers (in publish order) and body. */
export interface EncodedJob {
  subject: string;
  msgId: string;
  headers: [string, string][];
  data: Uint8Array;
}

/**
 * The message of a job whose eta is after `now`: a schedule on its own
 * subject for the server to hold (`delays: "server"`), or a copy on the
 * delayed subject for qw to release; a job that is due goes to its task's
 * subject. Pure.
 */
export function encodeJob(stream: string, job: OutgoingJob, now: number, o: PublishOptions = {}): EncodedJob {
  const delayedId = msgIdFor(job.id, job.retries, true);
  const dedup = (base: string) => (job.dedupSuffix ? `${base}:${job.dedupSuffix}` : base);
  const form = delayForm(o.delays ?? "qw", { etaMs: job.etaMs, dedupId: job.scheduleName ?? dedup(delayedId) }, now);
  const headers: [string, string][] = Object.entries(job.headers ?? {});
  headers.push([Header.id, job.id]);
  if (job.retries > 0) headers.push([Header.retries, String(job.retries)]);
  if (form === "qw") headers.push([Header.eta, String(Math.round(job.etaMs!))]);
  if (job.expiresAt != null) headers.push([Header.expires, String(Math.round(job.expiresAt))]);
  const priority = job.priority ?? DEFAULT_PRIORITY;
  if (form === "qw" && priority !== DEFAULT_PRIORITY) headers.push([Header.priority, String(priority)]);
  if (form === "server") {
    // No Nats-TTL on a schedule: it would expire the schedule itself, and the server drops it from the job it
    // publishes; the released job keeps Qw-Expires, which a worker checks as on any server.
    // Due at its eta, or at its expiry when that comes first: recorded REVOKED (expired) then, as qw's release does.
    const due = releaseAt(job.etaMs, job.expiresAt ?? null)!;
    headers.push([Header.schedule, atSchedule(due)], [Header.scheduleTarget, jobSubject(stream, job.task, priority)]);
    const msgId = dedup(delayedId);
    return { subject: scheduleSubject(stream, job.task, job.scheduleName ?? msgId), msgId, headers, data: job.data };
  }
  if (job.ttl) headers.push([Header.ttl, String(job.ttl)]);
  // A due job with a concurrency key waits on its key's subject (core/job/concurrency_key.ts), whatever its priority.
  const key = form === "qw" ? null : keyHeader(job.headers);
  const subject = form === "qw"
    ? delayedSubject(stream, job.task)
    : key !== null
    ? keySubject(stream, job.task, key)
    : jobSubject(stream, job.task, priority);
  return { subject, msgId: dedup(msgIdFor(job.id, job.retries, form === "qw")), headers, data: job.data };
}

/** The non-empty `Qw-Concurrency-Key` among `headers`, or null. Pure. */
function keyHeader(headers: Record<string, string> | undefined): string | null {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === "qw-concurrency-key" && v !== "") return v;
  return null;
}

/** Publish a job; one whose eta is in the future waits as {@linkcode encodeJob} says. */
export async function publishJob(
  js: JetStreamClient,
  stream: string,
  job: OutgoingJob,
  now: number = Date.now(),
  o: PublishOptions = {},
): Promise<{ seq: number; duplicate: boolean }> {
  const m = encodeJob(stream, job, now, o);
  const h = makeHeaders();
  for (const [k, v] of m.headers) h.set(k, v);
  const ack = await js.publish(m.subject, m.data, { msgID: m.msgId, headers: h });
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/**
 * Start a flow: one message on `<stream>._flow` (dedup id `flow:<id>`) that a
 * worker expands into the flow's first steps. Resolves when the server stored it.
 */
export async function publishFlow(
  js: JetStreamClient,
  stream: string,
  flow: { id: string; flow: unknown; headers?: Record<string, string> },
): Promise<{ seq: number; duplicate: boolean }> {
  const m = encodeFlowStart(stream, flow);
  const extra = Object.entries(flow.headers ?? {});
  let h: MsgHdrs | undefined;
  if (extra.length > 0) {
    h = makeHeaders();
    for (const [k, v] of extra) h.set(k, v);
  }
  const ack = await js.publish(m.subject, m.data, { msgID: m.msgId, headers: h });
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** The message that starts a flow (`flow` already normalized). Pure. */
export function encodeFlowStart(stream: string, flow: { id: string; flow: unknown }): EncodedJob {
  const data = new TextEncoder().encode(JSON.stringify({ id: flow.id, flow: flow.flow }));
  return { subject: flowStartSubject(stream), msgId: `flow:${flow.id}`, headers: [], data };
}

/** Copy a message to the dead-letter stream with why it ended there. */
export async function publishDeadLetter(
  js: JetStreamClient,
  dlqStream: string,
  d: { msg: JsMsg; task: string; reason: string; error?: SerializedError; stream: string },
): Promise<void> {
  const h = makeHeaders();
  copyHeaders(d.msg.headers, h);
  h.set(Header.dlqReason, oneLine(d.reason));
  if (d.error) h.set(Header.dlqError, oneLine(JSON.stringify({ name: d.error.name, message: d.error.message })));
  h.set(Header.dlqSubject, d.msg.subject);
  h.set(Header.dlqSeq, String(d.msg.seq));
  h.set(Header.dlqDeliveries, String(d.msg.info.deliveryCount));
  h.set(Header.dlqAt, new Date().toISOString());
  h.delete(Header.msgId);
  // A job the server released names its schedule; the dead-letter stream takes no schedule headers.
  h.delete(Header.scheduler);
  h.delete(Header.scheduleNext);
  const token = /^[A-Za-z0-9_$-]+$/.test(d.task) ? d.task : "_invalid";
  await js.publish(`${dlqStream}.${token}`, d.msg.data, { msgID: `dlq:${d.stream}:${d.msg.seq}`, headers: h });
}

function copyHeaders(from: MsgHdrs | undefined, to: MsgHdrs): void {
  if (!from) return;
  for (const [k, vs] of from) {
    if (k.startsWith("Qw-Dlq-") || isBatchHeader(k)) continue;
    for (const v of vs) to.append(k, v);
  }
}

const oneLine = (s: string): string => s.replace(/[\r\n]+/g, " ").slice(0, 1024);
