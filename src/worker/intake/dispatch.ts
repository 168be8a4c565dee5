/**
 * The path of one message: decode -> rate gate -> pool -> decideAck() ->
 * apply (ack, nak, term, working) -> dead letters, retries, results ->
 * events. Spawns no Web Workers and opens no connections: its collaborators
 * are injected.
 *
 * Two promises are kept here. A held job's lease is renewed only while it
 * makes progress (core/lease.ts), so a job is never held hostage by a pool
 * that stopped. And with results on, an acksLate job is acked only once its
 * result is stored, as Celery stores before it acknowledges.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { admitDelivery, decideAck, type Outcome } from "../../core/ack_policy.ts";
import type { RandomSource } from "../../core/backoff.ts";
import { errorText } from "../../client/connection.ts";
import type { Emitter, HandBackCause, JobFields } from "../../core/events.ts";
import { leaseAction } from "../../core/lease.ts";
import type { PoolJob } from "../pool/pool.ts";
import type { ResultStore } from "../../client/result_store.ts";
import type { Progress, ResolvedTaskOptions } from "../../core/types.ts";
import type { RevokeRecord } from "../../client/revocations.ts";
import { ackNumbers, jobHeaders } from "./job_headers.ts";
import { RateGate } from "./rate_gate.ts";
import { FLOW_START_TASK, type FlowStarter, flowOf } from "../flows/flow_steps.ts";
import type { Held, JobSink } from "./held.ts";
import { fields, resultRecord } from "../settle/_outcome.ts";
import { Settler } from "../settle/settle.ts";

export { RATE_SLOT_HEADER } from "./rate_gate.ts";

export type { Held, JobSink };

/** Collaborators and settings of a {@linkcode Dispatcher}. */
export interface DispatchOptions {
  stream: string;
  tasks: () => Record<string, ResolvedTaskOptions>;
  submit: (job: PoolJob<Held>) => void;
  /** Take a job back from the pool if it has not started; false when it has. */
  withdraw: (h: Held) => boolean;
  /** Starts flows and advances them; null without flows (no results bucket). */
  flows?: FlowStarter | null;
  /** Terminate the Web Worker running a job; false when it does not run (yet). */
  terminate: (h: Held) => boolean;
  /** The revoke of a task id, if it was revoked. */
  revoked: (id: string) => RevokeRecord | undefined;
  sink: JobSink;
  store: ResultStore | null;
  emitter: Emitter;
  maxDeliveries: number;
  ackWaitMs: number;
  workerName: string;
  /** Send the reason with a term; nats-server before 2.10 ignores a term that carries one. */
  termReasons: boolean;
  random?: RandomSource;
  now?: () => number;
}

/** Turns messages into pool jobs and outcomes into broker actions. */
export class Dispatcher {
  /** Every message held and not yet settled. */
  readonly held = new Set<Held>();
  #o: DispatchOptions;
  #gate: RateGate<Held>;
  #settler: Settler;
  #revokeLater = new Map<Held, RevokeRecord>();
  #prefix: string;
  #now: () => number;

  constructor(options: DispatchOptions) {
    this.#o = options;
    this.#prefix = options.stream + ".";
    this.#now = options.now ?? Date.now;
    this.#settler = new Settler({ ...options, held: this.held, now: this.#now, flowRunner: () => options.flows?.runner ?? null });
    this.#gate = new RateGate<Held>({
      ackWaitMs: options.ackWaitMs,
      now: this.#now,
      release: (h) => this.#submit(h),
      defer: (h, at, wait) => this.#defer(h, at, wait),
    });
  }

  /** A message arrived from the consumer. Never throws. */
  onMessage(msg: JsMsg): void {
    // JsMsg's type does not list `reply`, but every JsMsg has one (its ack subject).
    const nums = ackNumbers((msg as unknown as { reply?: string }).reply ?? "");
    const seq = nums?.seq ?? msg.info.streamSequence;
    const deliveryCount = nums?.deliveryCount ?? msg.info.deliveryCount;
    const subject = msg.subject;
    const task = subject.startsWith(this.#prefix) ? subject.slice(this.#prefix.length) : subject;
    const hdr = jobHeaders(msg);
    const id = hdr.id || hdr.msgId || `${this.#o.stream}:${seq}`;
    let retries = 0;
    if (hdr.retries) {
      retries = Number(hdr.retries);
      if (!Number.isInteger(retries) || retries < 0 || hdr.retries.trim() === "") {
        const job = { id, task, retries: 0, deliveryCount, seq };
        return this.#settler.invalid(msg, job, `Header 'Qw-Retries' must be a whole number >= 0: current value is "${hdr.retries}"`);
      }
    }
    if (task === FLOW_START_TASK && this.#o.flows) return this.#o.flows.startMessage(msg, { id, task, retries, deliveryCount, seq });
    const policy = this.#o.tasks()[task];
    if (!policy) return this.#settler.invalid(msg, { id, task, retries, deliveryCount, seq }, `Unknown task '${task}' (subject '${msg.subject}')`);
    const now = this.#now();
    // Built field by field (no spreads): this runs for every job.
    const held: Held = {
      id, task, retries, deliveryCount, seq, msg, policy, acked: false, started: false, startedAt: 0, heldAt: now, lastTouch: now, settling: false,
    };
    if (hdr.flow) {
      const flow = flowOf(msg.data);
      if (!flow) return this.#settler.invalid(msg, held, "Body of a flow step has no valid 'flow': expected {\"args\": [...], \"flow\": {id, path, then}}");
      held.flow = flow;
    }
    this.held.add(held);
    if (!admitDelivery(deliveryCount, this.#o.maxDeliveries)) {
      const reason = `Delivered ${deliveryCount} times, over the cap of 'maxDeliveries' (${this.#o.maxDeliveries}): not run again`;
      const error = { name: "DeliveryCapExceeded", message: reason };
      void this.#settler.apply(held, { broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", error, deadLetter: reason }, 0);
      return;
    }
    if (this.#o.revoked(id)) return this.#revoked(held, "revoked before it started");
    if (this.#gate.admit(held, hdr.rateSlot)) this.#submit(held);
  }

  #submit(held: Held): void {
    // msg.data is a view into the socket buffer; the pool copies it into its batch buffer.
    const { task, id, retries, deliveryCount } = held;
    this.#o.submit({ task, data: held.msg.data, id, retries, deliveryCount, ref: held });
  }

  #defer(held: Held, at: number, wait: number): void {
    this.#o.sink.defer(held, at).then(
      () => {
        held.msg.ack();
        this.held.delete(held);
        this.#o.emitter.emit({ type: "job.deferred", until: at, ...fields(held) });
      },
      (e) => {
        this.#o.emitter.emit({ type: "error", where: "rate_limit", error: `Cannot defer '${held.id}': ${errorText(e)}` });
        held.msg.nak(Math.min(wait, 5_000));
        this.held.delete(held);
      },
    );
  }

  /** Dead-letter and term a message that cannot run, storing FAILURE for its id. */
  invalid(msg: JsMsg, job: JobFields, reason: string): void {
    this.#settler.invalid(msg, job, reason);
  }

  /** How many more jobs result writes allow now (see settle.ts). */
  get room(): number {
    return this.#settler.room;
  }

  /** Resolves when result writes in flight went down. */
  whenRoom(): Promise<void> {
    return this.#settler.whenRoom();
  }

  /** Shutdown: give back every job waiting for a rate-limit token. */
  releaseWaiting(): number {
    const waiting = this.#gate.drain();
    for (const h of waiting) this.handBack(h, "waiting for a rate-limit token at shutdown");
    return waiting.length;
  }

  /** The early-ack moment: a Web Worker started the job. */
  onStarted(h: Held): void {
    h.started = true;
    h.startedAt = this.#now();
    // A flow's step is acked once the flow advanced, whatever its ack mode, so a crash never stalls the flow.
    if (!h.policy.acksLate && !h.acked && !h.flow) {
      h.acked = true;
      h.msg.ack();
    }
    if (h.policy.trackStarted) this.#writeInterim(h, "STARTED");
    if (this.#o.emitter.active) {
      const { id, task, retries, deliveryCount, seq } = h;
      this.#o.emitter.emit({ type: "job.started", id, task, retries, deliveryCount, seq });
    }
  }

  /** A running job reported progress: store it as PROGRESS, after whatever was written before. */
  onProgress(h: Held, fraction: number, meta: unknown): void {
    if (!this.held.has(h) || h.settling) return;
    this.#writeInterim(h, "PROGRESS", { fraction, meta });
  }

  #writeInterim(h: Held, state: "STARTED" | "PROGRESS", progress?: Progress): void {
    const store = this.#o.store;
    if (!store || h.policy.ignoreResult) return;
    const record = resultRecord(h, this.#o.workerName, this.#now(), state);
    if (progress) record.progress = progress;
    const write = () =>
      store.write(record).catch((e) => this.#o.emitter.emit({ type: "result.store_failed", id: h.id, state, error: errorText(e) }));
    h.lastWrite = h.lastWrite ? h.lastWrite.then(write) : write();
  }

  /**
   * A revoke arrived: a held job that has not started never will (it is
   * acked, REVOKED); a running one is terminated when the revoke says so,
   * else it finishes. One that is starting this very moment is tried again.
   */
  revoke(r: RevokeRecord): void {
    for (const h of this.held) {
      if (h.id !== r.id || h.settling) continue;
      if (this.#gate.cancel(h) || (!h.started && this.#o.withdraw(h))) {
        this.#revoked(h, "revoked before it started");
      } else if (!h.started) {
        this.#revokeLater.set(h, r);
      } else if (r.terminate && !this.#o.terminate(h)) {
        this.#revokeLater.set(h, r);
      }
    }
  }

  #revoked(h: Held, reason: string): void {
    this.#settler.apply(h, this.#decide(h, { kind: "revoked", reason }), 0);
  }

  #decide(h: Held, outcome: Outcome) {
    return decideAck(outcome, {
      policy: h.policy,
      deliveryCount: h.deliveryCount,
      retries: h.retries,
      maxDeliveries: this.#o.maxDeliveries,
      random: this.#o.random ?? Math.random,
    });
  }

  /** A job ended; decide and apply. */
  onResult(h: Held, outcome: Outcome, ms: number): void {
    this.#revokeLater.delete(h);
    void this.#settler.apply(h, this.#decide(h, outcome), ms, outcome.kind === "success" ? outcome.value : undefined);
  }

  /** Give a job back to the stream now: acksLate or not-yet-acked ones only. */
  handBack(h: Held, reason: string, cause: HandBackCause = "shutdown"): void {
    if (!this.held.delete(h)) return;
    if (h.acked) return;
    h.msg.nak();
    this.#o.emitter.emit({ type: "job.handed_back", reason, cause, ...fields(h) });
  }

  /**
   * Renew the lease of every held job that makes progress; hand back those
   * that waited too long without starting (see core/lease.ts). Returns how
   * many leases were renewed.
   */
  touchLeases(pool: { sinceProgressMs: number }): number {
    for (const [h, r] of [...this.#revokeLater]) {
      this.#revokeLater.delete(h);
      if (this.held.has(h)) this.revoke(r);
    }
    const now = this.#now();
    const ackWaitMs = this.#o.ackWaitMs;
    let n = 0;
    for (const h of this.held) {
      if (h.acked) continue;
      const job = { running: h.started, settling: h.settling, heldMs: now - h.heldAt, sinceTouchMs: now - h.lastTouch };
      switch (leaseAction(job, pool, ackWaitMs)) {
        case "renew":
          h.lastTouch = now;
          h.msg.working();
          n++;
          break;
        case "hand_back":
          if (this.#gate.cancel(h) || this.#o.withdraw(h)) {
            const s = Math.round((now - h.heldAt) / 100) / 10;
            this.handBack(h, `waited ${s} s in this process without starting: another process may run it`, "waited");
          }
          break;
        case "keep":
          break;
      }
    }
    return n;
  }

}
