/**
 * Applying a decision to a held job: publish what must exist before the
 * message is settled (a retry, a dead letter; with acksLate, the result),
 * then ack, nak or term it, store its result and emit its event. Also the
 * fate of a message that cannot run at all: dead-lettered, termed, FAILURE.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import type { Decision } from "../../core/ack_policy.ts";
import { errorText } from "../../client/connection.ts";
import type { Emitter, JobFields } from "../../core/events.ts";
import type { ResultRecord, ResultStore } from "../../client/result_store.ts";
import { toJsonValue } from "../../core/json_value.ts";
import type { Held, JobSink } from "../intake/held.ts";
import { fields, outcomeEvent, resultRecord } from "./_outcome.ts";
import type { FlowRunner } from "../flows/flow_runner.ts";

/** What settling needs. */
export interface SettleOptions {
  sink: JobSink;
  store: ResultStore | null;
  emitter: Emitter;
  workerName: string;
  /** Send the reason with a term; nats-server before 2.10 ignores a term that carries one. */
  termReasons: boolean;
  /** The dispatcher's held jobs: a job leaves it once settled. */
  held: Set<Held>;
  /** Advances flows; a step of a flow is settled only after its flow advanced. */
  flowRunner?: () => FlowRunner | null;
  now: () => number;
}

/**
 * Result writes in flight at most. They are pipelined (none waits for
 * another); past this many the worker stops pulling until half have landed,
 * so a slow results bucket slows the worker instead of growing its memory.
 */
export const MAX_WRITES_IN_FLIGHT = 4096;

/** Applies decisions; see the module doc. */
export class Settler {
  #o: SettleOptions;
  #writes = 0;
  #drained: Array<() => void> = [];
  /** Tasks whose converted return value was reported already. */
  #converted = new Set<string>();

  constructor(options: SettleOptions) {
    this.#o = options;
  }

  /** Apply a decision. Synchronous unless something must be published first (a retry, a dead letter, an acksLate result). */
  apply(h: Held, d: Decision, ms: number, value?: unknown): void | Promise<void> {
    if (h.flow && !d.retry && d.broker.op !== "nak") return this.#advanceThenApply(h, d, ms, value);
    if (d.retry || d.deadLetter !== undefined) return this.#publishThenSettle(h, d, ms, value);
    this.#settle(h, d, ms, value);
  }

  /** A flow's step ended: publish what follows (or fail the flow) before anything acks it. */
  async #advanceThenApply(h: Held, d: Decision, ms: number, value?: unknown): Promise<void> {
    const runner = this.#o.flowRunner?.() ?? null;
    const flow = h.flow!;
    h.settling = true;
    try {
      if (runner !== null) {
        if (d.state === "SUCCESS" || d.event === "job.ignored") await runner.succeeded(flow, value);
        else if (d.state === "FAILURE" || d.state === "REVOKED") await runner.failed(flow, { task: h.task, state: d.state }, d.error);
      }
    } catch (e) {
      this.#o.emitter.emit({ type: "error", where: "flow", error: `Cannot advance flow '${flow.id}' after '${h.id}': ${errorText(e)}` });
      // Not acked: the step runs again and advances then (its next steps are deduplicated by id).
      if (!h.acked) h.msg.nak(1000);
      this.#o.held.delete(h);
      return;
    }
    h.flow = undefined;
    return this.apply(h, d, ms, value);
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
        this.#o.held.delete(h);
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
          this.#o.held.delete(h);
          return;
        }
      }
    }
    this.#settle(h, d, ms, value);
  }

  #settle(h: Held, d: Decision, ms: number, value?: unknown): void {
    const { store } = this.#o;
    if (store && d.state && value !== undefined && !h.policy.ignoreResult) value = this.#jsonValue(h, value);
    const record = store && d.state && !h.policy.ignoreResult
      ? resultRecord(h, this.#o.workerName, this.#o.now(), d.state, { value, error: d.error, deadLetter: d.deadLetter })
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
      this.#o.held.delete(h);
      this.#o.emitter.emit({ type: "job.requeued", note: "its result could not be stored: it runs again", ...fields(h) });
    });
  }

  /** How many more jobs the worker may take before result writes catch up (0 while too many are in flight). */
  get room(): number {
    return Math.max(0, MAX_WRITES_IN_FLIGHT - this.#writes);
  }

  /** Resolves once result writes in flight dropped to half the bound. */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** The value as the results bucket stores it; the first conversion of each task is reported. */
  #jsonValue(h: Held, value: unknown): unknown {
    const j = toJsonValue(value);
    if (j.converted !== null && !this.#converted.has(h.task)) {
      this.#converted.add(h.task);
      this.#o.emitter.emit({ type: "result.converted", task: h.task, id: h.id, converted: j.converted });
    }
    return j.value;
  }

  /** Resolves true once the record is stored; false (and an event) when it cannot be. */
  #write(h: Held, record: ResultRecord): Promise<boolean> {
    const store = this.#o.store!;
    const write = () => store.write(record);
    this.#writes++;
    return (h.lastWrite ? h.lastWrite.then(write) : write()).then(
      () => true,
      (e) => {
        this.#o.emitter.emit({ type: "result.store_failed", id: h.id, state: record.state, error: errorText(e) });
        return false;
      },
    ).finally(() => {
      if (--this.#writes <= MAX_WRITES_IN_FLIGHT / 2 && this.#drained.length > 0) {
        const w = this.#drained;
        this.#drained = [];
        for (const f of w) f();
      }
    });
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
      this.#o.held.delete(h);
    }
  }

  #term(msg: JsMsg, reason: string): void {
    if (this.#o.termReasons) msg.term(reason);
    else msg.term();
  }

  /** A message that cannot run: dead-letter it, term it, and store FAILURE for its id so `qw result` says why. */
  invalid(msg: JsMsg, job: JobFields, reason: string): void {
    const { emitter, sink, store } = this.#o;
    emitter.emit({ type: "job.invalid", seq: msg.seq, subject: msg.subject, reason });
    sink.deadLetter({ msg, seq: job.seq }, reason).then(
      () => {
        this.#term(msg, reason);
        sink.remove(job.seq);
        if (!store) return;
        const error = { name: "InvalidJobError", message: reason };
        const record = resultRecord(job, this.#o.workerName, this.#o.now(), "FAILURE", { error, deadLetter: reason });
        store.write(record).catch((e) => emitter.emit({ type: "result.store_failed", id: job.id, state: "FAILURE", error: errorText(e) }));
      },
      (e) => {
        emitter.emit({ type: "error", where: "dead_letter", error: `Cannot dead-letter message ${msg.seq}: ${errorText(e)}` });
        msg.nak(1000);
      },
    );
  }
}
