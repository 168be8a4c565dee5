/**
 * The path of one message: decode -> pool -> decideAck() -> apply (ack, nak,
 * term, working) -> dead letters, retries, results -> events. Spawns no
 * Web Workers and opens no connections: its collaborators are injected.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { admitDelivery, decideAck, type Decision, type Outcome } from "../core/ack_policy.ts";
import type { RandomSource } from "../core/backoff.ts";
import { errorText } from "../client/connection.ts";
import type { Emitter, JobFields } from "../core/events.ts";
import type { PoolJob } from "./pool.ts";
import type { ResultRecord, ResultStore } from "../client/result_store.ts";
import type { ResolvedTaskOptions, SerializedError, TaskState } from "../core/types.ts";
import { parseRateLimit } from "../core/config.ts";
import { reserveToken, waitPlan } from "../core/rate_limit.ts";
import { ackNumbers, jobHeaders } from "./job_headers.ts";

/** A message the worker holds, from pull to settlement. */
export interface Held extends JobFields {
  msg: JsMsg;
  policy: ResolvedTaskOptions;
  acked: boolean;
  started: boolean;
  startedAt: number;
  lastTouch: number;
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

/** The header a deferred job carries: the epoch ms of the token reserved for it. */
export const RATE_SLOT_HEADER = "Qw-Rate-Slot";

/** Collaborators and settings of a {@linkcode Dispatcher}. */
export interface DispatchOptions {
  stream: string;
  tasks: () => Record<string, ResolvedTaskOptions>;
  submit: (job: PoolJob<Held>) => void;
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
  #buckets = new Map<string, { perSecond: number; nextAt: number }>();
  #waiting = new Map<Held, ReturnType<typeof setTimeout>>();
  #prefix: string;
  #now: () => number;

  constructor(options: DispatchOptions) {
    this.#o = options;
    this.#prefix = options.stream + ".";
    this.#now = options.now ?? Date.now;
  }

  /** A message arrived from the consumer. Never throws. */
  onMessage(msg: JsMsg): void {
    // JsMsg's type does not list `reply`, but every JsMsg has one (its ack subject).
    const nums = ackNumbers((msg as unknown as { reply?: string }).reply ?? "");
    const seq = nums?.seq ?? msg.info.streamSequence;
    const deliveryCount = nums?.deliveryCount ?? msg.info.deliveryCount;
    const subject = msg.subject;
    const task = subject.startsWith(this.#prefix) ? subject.slice(this.#prefix.length) : subject;
    const h = jobHeaders(msg);
    const id = h.id || h.msgId || `${this.#o.stream}:${seq}`;
    let retries = 0;
    if (h.retries) {
      retries = Number(h.retries);
      if (!Number.isInteger(retries) || retries < 0 || h.retries.trim() === "") {
        return this.#invalid(msg, `Header 'Qw-Retries' must be a whole number >= 0: current value is "${h.retries}"`);
      }
    }
    const policy = this.#o.tasks()[task];
    if (!policy) return this.#invalid(msg, `Unknown task '${task}' (subject '${msg.subject}')`);
    const held: Held = {
      msg, policy, id, task, retries, deliveryCount, seq, acked: false, started: false, startedAt: 0, lastTouch: this.#now(),
    };
    if (!admitDelivery(deliveryCount, this.#o.maxDeliveries)) {
      const reason = `Delivered ${deliveryCount} times, over the cap of 'maxDeliveries' (${this.#o.maxDeliveries}): not run again`;
      this.held.add(held);
      void this.#apply(held, { broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", deadLetter: reason }, 0);
      return;
    }
    this.held.add(held);
    if (policy.rateLimit !== null && !this.#rateLimited(held, h.rateSlot ?? undefined)) return;
    this.#submit(held);
  }

  #submit(held: Held): void {
    // msg.data is a view into the socket buffer; the pool copies it into its batch buffer.
    const { task, id, retries, deliveryCount } = held;
    this.#o.submit({ task, data: held.msg.data, id, retries, deliveryCount, ref: held });
  }

  /** True when the job may run now; otherwise it was held or deferred. */
  #rateLimited(held: Held, slot: string | undefined): boolean {
    const now = this.#now();
    // A deferred job already holds the token reserved for it.
    if (slot && Number(slot) <= now + 50) return true;
    let bucket = this.#buckets.get(held.task);
    if (!bucket) this.#buckets.set(held.task, bucket = { perSecond: parseRateLimit(held.policy.rateLimit!).perSecond, nextAt: 0 });
    const r = reserveToken(bucket.nextAt, now, bucket.perSecond);
    bucket.nextAt = r.nextAt;
    const wait = r.at - now;
    switch (waitPlan(wait, Math.min(2_000, this.#o.ackWaitMs / 3))) {
      case "run":
        return true;
      case "hold":
        this.#waiting.set(held, setTimeout(() => {
          this.#waiting.delete(held);
          this.#submit(held);
        }, wait));
        return false;
      case "defer":
        this.#o.sink.defer(held, r.at).then(
          () => {
            held.msg.ack();
            this.held.delete(held);
            this.#o.emitter.emit({ type: "job.deferred", until: r.at, ...fields(held) });
          },
          (e) => {
            this.#o.emitter.emit({ type: "error", where: "rate_limit", error: `Cannot defer '${held.id}': ${errorText(e)}` });
            held.msg.nak(Math.min(wait, 5_000));
            this.held.delete(held);
          },
        );
        return false;
    }
  }

  /** Shutdown: give back every job waiting for a rate-limit token. */
  releaseWaiting(): number {
    for (const [h, timer] of this.#waiting) {
      clearTimeout(timer);
      this.handBack(h, "waiting for a rate-limit token at shutdown");
    }
    const n = this.#waiting.size;
    this.#waiting.clear();
    return n;
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
      h.startedWrite = this.#o.store.write(this.#record(h, "STARTED")).catch((e) =>
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

  /** Give a job back to the stream now (shutdown): acksLate or not-yet-acked ones only. */
  handBack(h: Held, reason: string): void {
    if (!this.held.delete(h)) return;
    if (h.acked) return;
    h.msg.nak();
    this.#o.emitter.emit({ type: "job.handed_back", reason, ...fields(h) });
  }

  /** Tell the server we still work on every held, unacked message older than a third of the ack wait. */
  touchLeases(): number {
    const now = this.#now();
    const due = this.#o.ackWaitMs / 3;
    let n = 0;
    for (const h of this.held) {
      if (h.acked || now - h.lastTouch < due) continue;
      h.lastTouch = now;
      h.msg.working();
      n++;
    }
    return n;
  }

  // Synchronous unless something must be published first (a retry, a dead letter).
  #apply(h: Held, d: Decision, ms: number, value?: unknown): void | Promise<void> {
    if (d.retry || d.deadLetter !== undefined) return this.#publishThenSettle(h, d, ms, value);
    this.#settle(h, d, ms, value);
  }

  async #publishThenSettle(h: Held, d: Decision, ms: number, value?: unknown): Promise<void> {
    const { emitter, sink } = this.#o;
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
    const { emitter, sink, store } = this.#o;
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
          sink.remove(h.seq);
          break;
      }
      h.acked = true;
      if (store && d.state) {
        const record = this.#record(h, d.state, d.state === "SUCCESS" ? value : undefined, d.error);
        const write = () => store.write(record);
        (h.startedWrite ? h.startedWrite.then(write) : write())
          .catch((e) => emitter.emit({ type: "result.store_failed", id: h.id, state: record.state, error: errorText(e) }));
      }
      this.#emit(h, d, ms);
    } finally {
      this.held.delete(h);
    }
  }

  #record(h: Held, state: TaskState, result?: unknown, error?: SerializedError): ResultRecord {
    return {
      id: h.id, task: h.task, state, result, error,
      retries: h.retries, deliveryCount: h.deliveryCount, worker: this.#o.workerName, finishedAt: this.#now(),
    };
  }

  #emit(h: Held, d: Decision, ms: number): void {
    // Built field by field (no spread): this runs for every job.
    const { id, task, retries, deliveryCount, seq } = h;
    const { emitter } = this.#o;
    switch (d.event) {
      case "job.succeeded":
        return emitter.emit({ type: "job.succeeded", ms, id, task, retries, deliveryCount, seq });
      case "job.failed":
        return emitter.emit({ type: "job.failed", ms, error: d.error!, id, task, retries, deliveryCount, seq });
      case "job.retry_scheduled":
        return emitter.emit({ type: "job.retry_scheduled", countdown: d.retry!.countdown, error: d.error, id, task, retries, deliveryCount, seq });
      case "job.requeued":
        return emitter.emit({ type: "job.requeued", note: d.note, id, task, retries, deliveryCount, seq });
      case "job.rejected":
        return emitter.emit({ type: "job.rejected", reason: d.deadLetter ?? "", error: d.error, id, task, retries, deliveryCount, seq });
      case "job.ignored":
        return emitter.emit({ type: "job.ignored", id, task, retries, deliveryCount, seq });
    }
  }

  #term(msg: JsMsg, reason: string): void {
    if (this.#o.termReasons) msg.term(reason);
    else msg.term();
  }

  #invalid(msg: JsMsg, reason: string): void {
    this.#o.emitter.emit({ type: "job.invalid", seq: msg.seq, subject: msg.subject, reason });
    this.#o.sink.deadLetter({ msg, seq: msg.seq }, reason).then(
      () => {
        this.#term(msg, reason);
        this.#o.sink.remove(msg.seq);
      },
      (e) => {
        this.#o.emitter.emit({ type: "error", where: "dead_letter", error: `Cannot dead-letter message ${msg.seq}: ${errorText(e)}` });
        msg.nak(1000);
      },
    );
  }
}

function fields(h: Held): JobFields {
  return { id: h.id, task: h.task, retries: h.retries, deliveryCount: h.deliveryCount, seq: h.seq };
}
