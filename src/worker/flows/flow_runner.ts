/**
 * Advancing flows on the server (the decisions are core/flow.ts): publish the
 * next steps with a dedup id per step (a group's or chord's members as one
 * atomic batch where the server and stream allow it, so a crash mid-fan-out
 * never leaves part of them published), count a group's members with
 * compare-and-set in the KV bucket `qw_<stream>_flows`, and store the flow's
 * own record (SUCCESS with its result, or FAILURE naming the step) under the
 * flow id. The dispatcher calls it before it acks the step that finished, so
 * a crash in between publishes the same next step again, which the stream
 * drops as a duplicate: a flow advances exactly once and never stalls.
 *
 * @module
 */

import type { JetStreamClient } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { fanoutMode } from "../../core/job/atomic_batch.ts";
import { publishMany } from "../../client/enqueue_many.ts";
import {
  afterJoin,
  continueWith,
  type FlowAction,
  type FlowNode,
  type JoinState,
  joinAdd,
  joinCount,
  startFlow,
  type StepJob,
  type Then,
} from "../../core/flow.ts";
import type { SerializedError, TaskState } from "../../core/types.ts";
import { FLOW_HEADER, type OutgoingJob } from "../../client/producer.ts";
import { keyFor, type ResultStore } from "../../client/buckets/result_store.ts";

/** Where a step stands in its flow: carried in the step's body as `flow`. */
export interface FlowContext {
  id: string;
  path: string;
  then: Then;
}

/** True for a `flow` field of a step's body that can be advanced. Pure. */
export function isFlowContext(v: unknown): v is FlowContext {
  const f = v as FlowContext;
  return typeof f === "object" && f !== null && typeof f.id === "string" && typeof f.path === "string" &&
    typeof f.then === "object" && f.then !== null;
}

/**
 * The job of one step of flow `id`: its body carries where it stands, and its
 * task id is its dedup id, so publishing it again after a crash stores it once. Pure.
 */
export function stepJob(id: string, step: StepJob, trace?: TraceHeaders): OutgoingJob {
  const data = encoder.encode(JSON.stringify({ args: step.args, flow: { id, path: step.path, then: step.then } }));
  const headers = trace === undefined ? { [FLOW_HEADER]: "1" } : { ...trace, [FLOW_HEADER]: "1" };
  return { task: step.task, data, id: `${id}${step.path}`, retries: 0, etaMs: null, headers };
}

/** The trace context a step is published with (`traceparent`, `tracestate`): that of the run or message that caused it. */
export type TraceHeaders = Record<string, string>;

/** Open (or create) the flows bucket. */
export async function openFlows(nc: NatsConnection, bucket: string, ttlSeconds: number): Promise<KV> {
  return await new Kvm(nc).create(bucket, { ttl: ttlSeconds * 1000, history: 1 });
}

const encoder = new TextEncoder();
const MAX_CAS_ATTEMPTS = 100;

/** What a {@linkcode FlowRunner} needs. */
export interface FlowRunnerOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  stream: string;
  /** The server has atomic batches (2.12+) and the work stream `allow_atomic`: steps published together go as one. */
  atomic: boolean;
  /** The flows bucket (joins). */
  kv: KV;
  /** Where flow records go; none with --no-results. */
  store: ResultStore | null;
  workerName: string;
  now: () => number;
}

interface JoinQueue {
  waiting: { index: number; n: number; resolve: (complete: boolean) => void; reject: (e: unknown) => void }[];
  busy: boolean;
}

/** Publishes steps, joins groups and stores flow records. */
export class FlowRunner {
  #o: FlowRunnerOptions;
  #queues = new Map<string, JoinQueue>();

  constructor(o: FlowRunnerOptions) {
    this.#o = o;
  }

  /** Publish the first steps of a flow, with the trace context of its start message. */
  start(id: string, node: FlowNode, trace?: TraceHeaders): Promise<void> {
    return this.#perform(id, startFlow(node), trace);
  }

  /** A step succeeded with `value`: publish what follows it, with the trace context of its run. */
  succeeded(f: FlowContext, value: unknown, trace?: TraceHeaders): Promise<void> {
    return this.#perform(f.id, continueWith(f.then, value ?? null), trace);
  }

  /** A step ended in FAILURE or REVOKED: the flow fails naming it, and a group it belongs to never runs its body. */
  async failed(f: FlowContext, step: { task: string; state: TaskState }, error: SerializedError | undefined): Promise<void> {
    const stepId = `${f.id}${f.path}`;
    if ("join" in f.then) await this.#markFailed(f.id, f.then.join, stepId);
    const why = error ? `${error.name}: ${error.message}` : step.state;
    await this.#record(f.id, "FAILURE", undefined, { name: "FlowStepFailed", message: `Step '${stepId}' (task '${step.task}') ended in ${step.state}: ${why}` });
  }

  async #perform(id: string, actions: FlowAction[], trace?: TraceHeaders): Promise<void> {
    const steps = actions.flatMap((a) => (a.kind === "run" ? [stepJob(id, a.step, trace)] : []));
    await Promise.all([steps.length > 0 ? this.#publish(steps) : null, ...actions.map((a) => {
      switch (a.kind) {
        case "run":
          return null;
        case "done":
          return this.#record(id, "SUCCESS", a.value);
        case "join":
          return this.#join(id, a, trace);
      }
    })]);
  }

  /**
   * The steps that start together (a group's or chord's members): one atomic
   * batch (up to 1,000 each) where allowed. Each keeps its dedup id, so after a
   * crash the batch published again is refused whole as a duplicate and then
   * sent one by one, which stores only what is missing.
   */
  async #publish(steps: OutgoingJob[]): Promise<void> {
    const { nc, js, stream, atomic } = this.#o;
    await publishMany({ nc, js, stream }, steps, { mode: fanoutMode({ atomicBatch: atomic, allowAtomic: true, count: steps.length }) });
  }

  /** A chord's body is published by the member that completes the join, as a child of that member's run. */
  async #join(id: string, a: Extract<FlowAction, { kind: "join" }>, trace?: TraceHeaders): Promise<void> {
    const name = `${id}${a.join}`;
    // The member's result first, under its own key: recording it again is harmless.
    await this.#o.kv.put(keyFor(`${name}.r.${a.index}`), JSON.stringify({ value: a.value ?? null }));
    const complete = await this.#mark(name, a.index, a.n);
    if (complete) await this.#perform(id, afterJoin(a, await this.#results(name, a.n)), trace);
  }

  /**
   * Mark a member finished. Marks of one join that arrive while its
   * compare-and-set is in flight go together in the next one, so a large group
   * finishing at once costs a few updates, not one retry storm per member.
   * Resolves true for one member of the update that saw every member in.
   */
  #mark(name: string, index: number, n: number): Promise<boolean> {
    let q = this.#queues.get(name);
    if (!q) this.#queues.set(name, q = { waiting: [], busy: false });
    const queue = q;
    return new Promise<boolean>((resolve, reject) => {
      queue.waiting.push({ index, n, resolve, reject });
      if (!queue.busy) void this.#drain(name, queue);
    });
  }

  async #drain(name: string, q: JoinQueue): Promise<void> {
    q.busy = true;
    while (q.waiting.length > 0) {
      const batch = q.waiting.splice(0);
      try {
        const r = await this.#update(name, (cur) => {
          let state = cur;
          let changed = false;
          for (const w of batch) {
            const x = joinAdd(state, w.index, w.n);
            state = x.state;
            changed ||= x.changed;
          }
          return { state: state!, changed, complete: state!.failed === undefined && joinCount(state!) === state!.n };
        });
        batch.forEach((w, i) => w.resolve(r.complete && i === 0));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    q.busy = false;
    this.#queues.delete(name);
  }

  /** The results of a complete join's members, in order. */
  async #results(name: string, n: number): Promise<unknown[]> {
    return await Promise.all(Array.from({ length: n }, async (_, i) => {
      const e = await this.#o.kv.get(keyFor(`${name}.r.${i}`));
      if (e?.operation !== "PUT") throw new Error(`Cannot join '${name}': the result of member ${i} is missing`);
      return e.json<{ value: unknown }>().value;
    }));
  }

  async #markFailed(id: string, join: string, stepId: string): Promise<void> {
    await this.#update(`${id}${join}`, (cur) => {
      const state: JoinState = cur ?? { n: 0, done: "" };
      return { state: state.failed ? state : { ...state, failed: stepId }, changed: !state.failed, complete: false };
    });
  }

  /** Compare-and-set the join state of `name` until it sticks. */
  async #update(name: string, f: (cur: JoinState | null) => { state: JoinState; changed: boolean; complete: boolean }) {
    const { kv } = this.#o;
    const key = keyFor(name);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const e = await kv.get(key);
      const cur = e?.operation === "PUT" ? e.json<JoinState>() : null;
      const r = f(cur);
      if (!r.changed) return r;
      try {
        if (e === null || e.operation !== "PUT") await kv.create(key, JSON.stringify(r.state));
        else await kv.update(key, JSON.stringify(r.state), e.revision);
        return r;
      } catch (err) {
        // Another member got there first: read again.
        if (!/wrong last sequence|exists/i.test(String((err as Error).message))) throw err;
      }
    }
    throw new Error(`Cannot update the join of '${name}': it kept changing`);
  }

  async #record(id: string, state: TaskState, result?: unknown, error?: SerializedError): Promise<void> {
    await this.#o.store?.write({
      id, task: "flow", state, result, error, retries: 0, deliveryCount: 1, worker: this.#o.workerName, finishedAt: this.#o.now(),
    });
  }
}
