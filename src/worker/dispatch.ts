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
import { admitDelivery, decideAck, type Decision, type Outcome } from "../core/ack_policy.ts";
import type { RandomSource } from "../core/backoff.ts";
import { errorText } from "../client/connection.ts";
import type { Emitter, HandBackCause, JobFields } from "../core/events.ts";
import { leaseAction } from "../core/lease.ts";
import type { PoolJob } from "./pool.ts";
import type { ResultRecord, ResultStore } from "../client/result_store.ts";
import type { ResolvedTaskOptions, SerializedError } from "../core/types.ts";
import { ackNumbers, jobHeaders } from "./job_headers.ts";
import { RateGate } from "./rate_gate.ts";
import { outcomeEvent, resultRecord } from "./_outcome.ts";

export { RATE_SLOT_HEADER } from "./rate_gate.ts";

/** A message the worker holds, from pull to settlement. */
export interface Held extends JobFields {
  msg: JsMsg;
  policy: ResolvedTaskOptions;
  acked: boolean;
  started: boolean;
  startedAt: number;
  /** When qw received it (epoch ms). */
  heldAt: number;
  lastTouch: number;
  /** It ended, and what follows (a retry, a dead letter, its result) is being published before it settles. */
  settling: boolean;
  /** The STARTED write (trackStarted), which the final write must follow. */
  startedWrite?: Promise<void>;
}

/** Publishing a retry and dead-lettering, as the dispatcher needs them. */
export interface JobSink {
  /** Publish the next attempt of a job; resolves when the server stored it. */
  retry(h: Held, countdownS: number, retries: number): Promise<void>;
  /** Copy a job to the dead letters; resolves when the server stored it. */
  deadLetter(h: Held | { msg: JsMsg; seq: number }, reason: string, error?: SerializedError): Promise<void>;
  /** Remove a rejected message from the work stream, so it is gone even if the term is lost. */
  remove(seq: number): void;
  /** Publish a copy that waits on the server until `at` (epoch ms) with its rate-limit token reserved. */
  defer(h: Held, at: number): Promise<void>;
}

/** Collaborators and settings of a {@linkcode Dispatcher}. */
export interface DispatchOptions {
  stream: string;
  tasks: () => Record<string, ResolvedTaskOptions>;
  submit: (job: PoolJob<Held>) => void;
  /** Take a job back from the pool if it has not started; false when it has. */
  withdraw: (h: Held) => boolean;
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
  #prefix: string;
  #now: () => number;

  constructor(options: DispatchOptions) {
    this.#o = options;
    this.#prefix = options.stream + ".";
    this.#now = options.now ?? Date.now;
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
    const job = { id, task, retries: 0, deliveryCount, seq };
    if (hdr.retries) {
      const retries = Number(hdr.retries);
      if (!Number.isInteger(retries) || retries < 0 || hdr.retries.trim() === "") {
        return this.#invalid(msg, job, `Header 'Qw-Retries' must be a whole number >= 0: current value is "${hdr.retries}"`);
      }
      job.retries = retries;
    }
    const policy = this.#o.tasks()[task];
    if (!policy) return this.#invalid(msg, job, `Unknown task '${task}' (subject '${msg.subject}')`);
    const now = this.#now();
    const held: Held = { ...job, msg, policy, acked: false, started: false, startedAt: 0, heldAt: now, lastTouch: now, settling: false };
    this.held.add(held);
    if (!admitDelivery(deliveryCount, this.#o.maxDeliveries)) {
      const reason = `Delivered ${deliveryCount} times, over the cap of 'maxDeliveries' (${this.#o.maxDeliveries}): not run again`;
      const error = { name: "DeliveryCapExceeded", message: reason };
      void this.#apply(held, { broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", error, deadLetter: reason }, 0);
      return;
    }
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
    if (!h.policy.acksLate && !h.acked) {
      h.acked = true;
      h.msg.ack();
    }
    if (h.policy.trackStarted && this.#o.store) {
      h.startedWrite = this.#o.store.write(resultRecord(h, this.#o.workerName, this.#now(), "STARTED")).catch((e) =>
        this.#o.emitter.emit({ type: "result.store_failed", id: h.id, state: "STARTED", error: errorText(e) })
      );
    }
    if (this.#o.emitter.active) {
      const { id, task, retries, deliveryCount, seq } = h;
      this.#o.emitter.emit({ type: "job.started", id, task, retries, deliveryCount, seq });
    }
  }

  /** A job ended; decide and apply. */
  onResult(h: Held, outcome: Outcome, ms: number): void {
    const decision = decideAck(outcome, {
      policy: h.policy,
      deliveryCount: h.deliveryCount,
      retries: h.retries,
      maxDeliveries: this.#o.maxDeliveries,
      random: this.#o.random ?? Math.random,
    });
    void this.#apply(h, decision, ms, outcome.kind === "success" ? outcome.value : undefined);
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

  // Synchronous unless something must be published first (a retry, a dead letter, an acksLate result).
  #apply(h: Held, d: Decision, ms: number, value?: unknown): void | Promise<void> {
    if (d.retry || d.deadLetter !== undefined) return this.#publishThenSettle(h, d, ms, value);
    this.#settle(h, d, ms, value);
  }

  async #publishThenSettle(h: Held, d: Decision, ms: number, value?: unknown): Promise<void> {
    const { emitter, sink } = this.#o;
    h.settling = true;
    if (d.retry) {
      try {
        await sink.retry(h, d.retry.countdown, d.retry.retries);
      } catch (e) {
        // Not scheduled: hand the job back rather than lose it.
        emitter.emit({ type: "error", where: "retry", error: `Cannot schedule retry of '${h.id}': ${errorText(e)}` });
        if (!h.acked) h.msg.nak(1000);
        this.held.delete(h);
        return;
      }
    }
    if (d.deadLetter !== undefined) {
      try {
        await sink.deadLetter(h, d.deadLetter, d.error);
      } catch (e) {
        emitter.emit({ type: "error", where: "dead_letter", error: `Cannot dead-letter '${h.id}': ${errorText(e)}` });
        if (!h.acked) {
          h.msg.nak(1000);
          this.held.delete(h);
          return;
        }
      }
    }
    this.#settle(h, d, ms, value);
  }

  #settle(h: Held, d: Decision, ms: number, value?: unknown): void {
    const { store } = this.#o;
    const record = store && d.state
      ? resultRecord(h, this.#o.workerName, this.#now(), d.state, { value, error: d.error, deadLetter: d.deadLetter })
      : null;
    if (record === null) return this.#finish(h, d, ms);
    if (!h.policy.acksLate || h.acked) {
      this.#finish(h, d, ms);
      void this.#write(h, record);
      return;
    }
    // acksLate: the result is stored before the job is acked, so a crash in
    // between runs the job again rather than losing its result.
    h.settling = true;
    void this.#write(h, record).then((stored) => {
      if (stored || d.broker.op !== "ack") return this.#finish(h, d, ms);
      h.msg.nak(1000);
      this.held.delete(h);
      this.#o.emitter.emit({ type: "job.requeued", note: "its result could not be stored: it runs again", ...fields(h) });
    });
  }

  /** Resolves true once the record is stored; false (and an event) when it cannot be. */
  #write(h: Held, record: ResultRecord): Promise<boolean> {
    const store = this.#o.store!;
    const write = () => store.write(record);
    return (h.startedWrite ? h.startedWrite.then(write) : write()).then(
      () => true,
      (e) => {
        this.#o.emitter.emit({ type: "result.store_failed", id: h.id, state: record.state, error: errorText(e) });
        return false;
      },
    );
  }

  #finish(h: Held, d: Decision, ms: number): void {
    try {
      switch (d.broker.op) {
        case "ack":
          h.msg.ack();
          break;
        case "acked":
          if (!h.acked) h.msg.ack();
          break;
        case "nak":
          h.msg.nak(d.broker.delayMs || undefined);
          break;
        case "term":
          this.#term(h.msg, d.broker.reason);
          this.#o.sink.remove(h.seq);
          break;
      }
      h.acked = true;
      this.#o.emitter.emit(outcomeEvent(h, d, ms));
    } finally {
      this.held.delete(h);
    }
  }

  #term(msg: JsMsg, reason: string): void {
    if (this.#o.termReasons) msg.term(reason);
    else msg.term();
  }

  /** A message that cannot run: dead-letter it, term it, and store FAILURE for its id so `qw result` says why. */
  #invalid(msg: JsMsg, job: JobFields, reason: string): void {
    const { emitter, sink, store } = this.#o;
    emitter.emit({ type: "job.invalid", seq: msg.seq, subject: msg.subject, reason });
    sink.deadLetter({ msg, seq: job.seq }, reason).then(
      () => {
        this.#term(msg, reason);
        sink.remove(job.seq);
        if (!store) return;
        const error = { name: "InvalidJobError", message: reason };
        const record = resultRecord(job, this.#o.workerName, this.#now(), "FAILURE", { error, deadLetter: reason });
        store.write(record).catch((e) => emitter.emit({ type: "result.store_failed", id: job.id, state: "FAILURE", error: errorText(e) }));
      },
      (e) => {
        emitter.emit({ type: "error", where: "dead_letter", error: `Cannot dead-letter message ${msg.seq}: ${errorText(e)}` });
        msg.nak(1000);
      },
    );
  }
}

function fields(h: Held): JobFields {
  return { id: h.id, task: h.task, retries: h.retries, deliveryCount: h.deliveryCount, seq: h.seq };
}
