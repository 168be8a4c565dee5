/**
 * The test vectors of spec/ (see spec/README.md): reading them, and what the
 * TypeScript code makes of each one's input: the producer's encoding, the
 * worker's retries, releases, flow steps and result records, and the worker's
 * decoding of what reaches it. The unit test compares these with the files.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { headers as makeHeaders } from "@nats-io/nats-core";
import type { JsMsg } from "@nats-io/jetstream";
import { prepareJob } from "../../src/client/prepare_job.ts";
import { encodeFlowStart, encodeJob, type EncodedJob } from "../../src/client/producer.ts";
import { encodeResult, keyFor } from "../../src/client/buckets/result_store.ts";
import { encodeRevoke } from "../../src/client/buckets/revocations.ts";
import { namesFor } from "../../src/client/topology.ts";
import { type FlowNode, normalizeFlow, startFlow } from "../../src/core/flow.ts";
import type { Progress, SerializedError, TaskState } from "../../src/core/types.ts";
import { stepJob } from "../../src/worker/flows/flow_runner.ts";
import { flowOf } from "../../src/worker/flows/flow_steps.ts";
import { readDelivery } from "../../src/worker/intake/delivery.ts";
import type { Held } from "../../src/worker/intake/held.ts";
import { releaseOf } from "../../src/worker/schedules/delayed_release.ts";
import { retryJob } from "../../src/worker/settle/job_sink.ts";
import type { DelayHolder } from "../../src/core/job/delay_hold.ts";
import { DEFAULT_PRIORITY, priorityOfSubject } from "../../src/core/job/priority.ts";
import { resultRecord } from "../../src/worker/settle/_outcome.ts";

export const SPEC_DIR = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../../spec");

/** A message as a vector writes it: headers by name (Nats-Msg-Id among them), the body as a string. */
export interface WireMessage {
  subject: string;
  headers: Record<string, string>;
  body: string;
}

/** What the worker reads from a job message that reaches a task. */
export interface Decoded {
  task: string;
  id: string;
  retries: number;
  flow?: unknown;
  /** The job's expiry (epoch ms), when it has one. */
  expires_ms?: number;
  /** The job's priority, when not the default (5): from its subject `<stream>.p<N>.<task>`. */
  priority?: number;
}

export interface JobVector {
  kind: "enqueue" | "flow" | "retry";
  description: string;
  input: Record<string, unknown> & { stream: string; now_ms: number };
  message: WireMessage;
  release?: WireMessage;
  /** What the server publishes from a schedule (a job it holds) at the schedule's time. */
  fired?: WireMessage;
  decoded?: Decoded;
  steps?: WireMessage[];
}

export interface ResultVector {
  kind: "result" | "revoke";
  description: string;
  input: Record<string, unknown> & { stream: string };
  bucket: string;
  key: string;
  value: string | null;
}

export type Vector = JobVector | ResultVector;

/** Every vector file under spec/, by its path relative to spec/. */
export function readVectors(): Map<string, Vector> {
  const out = new Map<string, Vector>();
  for (const dir of ["jobs", "results", "revokes"]) {
    for (const f of readdirSync(join(SPEC_DIR, dir)).filter((f) => f.endsWith(".json")).sort()) {
      out.set(`${dir}/${f}`, JSON.parse(readFileSync(join(SPEC_DIR, dir, f), "utf8")));
    }
  }
  return out;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function wire(m: EncodedJob): WireMessage {
  return { subject: m.subject, headers: { "Nats-Msg-Id": m.msgId, ...Object.fromEntries(m.headers) }, body: text(m.data) };
}

const headerBlock = (h: Record<string, string>) =>
  "NATS/1.0\r\n" + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";

/**
 * A first delivery of `m` at stream sequence `seq`, shaped as the worker's
 * messages are: raw header bytes then the body, and its ack subject.
 */
function delivered(stream: string, m: WireMessage, seq: number): JsMsg {
  const block = new TextEncoder().encode(Object.keys(m.headers).length > 0 ? headerBlock(m.headers) : "");
  const body = new TextEncoder().encode(m.body);
  const raw = new Uint8Array(block.length + body.length);
  raw.set(block);
  raw.set(body, block.length);
  const reply = `$JS.ACK.${stream}.qw_${stream}.1.${seq}.${seq}.1767225600000000000.0`;
  return { subject: m.subject, reply, data: body, msg: { _msg: { hdr: block.length }, _rdata: raw } } as unknown as JsMsg;
}

/** What the dispatcher reads from a message on `<stream>.<task>` at stream sequence `seq`. */
export function decode(stream: string, m: WireMessage, seq: number): Decoded {
  const r = readDelivery(delivered(stream, m, seq), stream);
  assert.equal(r.invalid, null, `the worker takes ${m.subject} for a job`);
  const d: Decoded = { task: r.task, id: r.id, retries: r.retries };
  if (r.expiresAt !== null) d.expires_ms = r.expiresAt;
  if (r.hdr.flow) d.flow = flowOf(new TextEncoder().encode(m.body));
  const priority = priorityOfSubject(m.subject);
  if (priority !== DEFAULT_PRIORITY) d.priority = priority;
  return d;
}

function release(stream: string, m: WireMessage, seq: number): WireMessage {
  const hdrs = makeHeaders();
  for (const [k, v] of Object.entries(m.headers)) hdrs.set(k, v);
  const r = releaseOf(stream, { subject: m.subject, headers: hdrs, seq }, 0);
  return { subject: r.subject, headers: { "Nats-Msg-Id": r.msgId, ...Object.fromEntries(r.headers) }, body: m.body };
}

/**
 * What nats-server (2.12+, ADR-51) publishes when the schedule `m` fires, as
 * its scheduler.go does: on `Nats-Schedule-Target`, the same body and headers
 * but every `Nats-Schedule*` header, `Nats-Msg-Id`, `Nats-TTL`, `Nats-Rollup`
 * and `Nats-Expected-*`, with `Nats-Scheduler` (the schedule's subject) and
 * `Nats-Schedule-Next: purge` (a one-off: the server removes the schedule)
 * added. The integration test checks a real server's message against it.
 */
export function firedByServer(m: WireMessage): WireMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) {
    if (/^(Nats-Schedule|Nats-Expected-)/.test(k) || ["Nats-Msg-Id", "Nats-TTL", "Nats-Rollup"].includes(k)) continue;
    headers[k] = v;
  }
  headers["Nats-Scheduler"] = m.subject;
  headers["Nats-Schedule-Next"] = "purge";
  return { subject: m.headers["Nats-Schedule-Target"], headers, body: m.body };
}

interface EnqueueInput {
  stream: string;
  task: string;
  args: unknown[];
  options: {
    id?: string;
    countdown?: number;
    eta_ms?: number;
    headers?: Record<string, string>;
    expires?: number;
    expires_ms?: number;
    unique?: string;
    debounce?: number;
    priority?: number;
    concurrency_key?: string;
  };
  new_id?: string;
  now_ms: number;
  seq: number;
  delays?: DelayHolder;
}

interface FlowInput {
  stream: string;
  flow: FlowNode;
  options: { id?: string };
  new_id?: string;
  now_ms: number;
}

interface RetryInput {
  stream: string;
  delivered: WireMessage;
  seq: number;
  retries: number;
  countdown: number;
  now_ms: number;
  delays?: DelayHolder;
}

/** The TypeScript code's answer for a job vector's input: everything but `kind`, `description` and `input`. */
export function computeJob(v: JobVector): Omit<JobVector, "kind" | "description" | "input"> {
  const seq = (v.input.seq as number | undefined) ?? 1;
  let message: WireMessage;
  let steps: WireMessage[] | undefined;
  if (v.kind === "enqueue") {
    const i = v.input as unknown as EnqueueInput;
    const o = i.options;
    const job = prepareJob(i.task, i.args, {
      id: o.id ?? i.new_id,
      countdown: o.countdown,
      eta: o.eta_ms === undefined ? undefined : new Date(o.eta_ms),
      headers: o.headers,
      expires: o.expires_ms !== undefined ? new Date(o.expires_ms) : o.expires,
      unique: o.unique,
      debounce: o.debounce,
      priority: o.priority,
      concurrencyKey: o.concurrency_key,
    }, i.now_ms);
    message = wire(encodeJob(i.stream, job, i.now_ms, { delays: i.delays }));
  } else if (v.kind === "flow") {
    const i = v.input as unknown as FlowInput;
    const id = i.options.id ?? i.new_id!;
    const flow = normalizeFlow(i.flow);
    message = wire(encodeFlowStart(i.stream, { id, flow }));
    steps = startFlow(flow).flatMap((a) => a.kind === "run" ? [wire(encodeJob(i.stream, stepJob(id, a.step), i.now_ms))] : []);
  } else {
    const i = v.input as unknown as RetryInput;
    const hdrs = makeHeaders();
    for (const [k, val] of Object.entries(i.delivered.headers)) hdrs.set(k, val);
    const d = decode(i.stream, i.delivered, i.seq);
    const msg = { subject: i.delivered.subject, headers: hdrs, data: new TextEncoder().encode(i.delivered.body) } as unknown as JsMsg;
    const held = { id: d.id, task: d.task, msg, expiresAt: d.expires_ms ?? null } as Held;
    message = wire(encodeJob(i.stream, retryJob(held, i.countdown, i.retries, i.now_ms), i.now_ms, { delays: i.delays }));
  }
  const out: Omit<JobVector, "kind" | "description" | "input"> = { message };
  if (message.subject.startsWith(`${v.input.stream}._delayed.`)) out.release = release(v.input.stream, message, seq);
  if (message.subject.startsWith(`${v.input.stream}._sched.`)) out.fired = firedByServer(message);
  // A job on its key's subject (`<stream>._key.`) reaches a task as it is.
  if (!message.subject.startsWith(`${v.input.stream}._`) || message.subject.startsWith(`${v.input.stream}._key.`)) out.decoded = decode(v.input.stream, message, seq);
  else if (out.release ?? out.fired) out.decoded = decode(v.input.stream, (out.release ?? out.fired)!, seq);
  if (steps) out.steps = steps;
  return out;
}

interface ResultInput {
  stream: string;
  job: { id: string; task: string; retries: number; deliveryCount: number };
  worker: string;
  now_ms: number;
  /** When the attempt started (epoch ms); absent for a job that never started. */
  started_ms?: number;
  state: TaskState;
  value?: unknown;
  error?: SerializedError;
  dead_letter?: string;
  reason?: string;
  progress?: Progress;
}

/** The TypeScript code's answer for a result or revoke vector: bucket, key and stored value. */
export function computeRecord(v: ResultVector): Pick<ResultVector, "bucket" | "key" | "value"> {
  const names = namesFor(v.input.stream);
  if (v.kind === "revoke") {
    const i = v.input as unknown as { stream: string; id: string; terminate: boolean; at: string };
    return { bucket: names.revokedBucket, key: keyFor(i.id), value: encodeRevoke(i) };
  }
  const i = v.input as unknown as ResultInput;
  if (i.state === "PENDING") return { bucket: names.resultsBucket, key: keyFor(i.job.id), value: null };
  const seq = { ...i.job, seq: 0 };
  const record = resultRecord(seq, i.worker, i.now_ms, i.state, { value: i.value, error: i.error, deadLetter: i.dead_letter, reason: i.reason, startedAt: i.started_ms });
  if (i.progress) record.progress = i.progress;
  return { bucket: names.resultsBucket, key: keyFor(i.job.id), value: encodeResult(record) };
}
