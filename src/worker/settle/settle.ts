/**
 * Applying a decision to a held job: the plan of core/settle_plan.ts (the
 * flow's next steps, a retry, a dead letter; with acksLate, the result;
 * then the one ack, nak or term, what may follow it, the event), run effect
 * after effect with that module's one failure policy. Also the fate of a
 * message that cannot run at all: dead-lettered, termed, FAILURE.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import type { BrokerAction, Decision } from "../../core/job/ack_policy.ts";
import { type Effect, onFailure, planSettlement } from "../../core/job/settle_plan.ts";
import { errorText } from "../../client/connection.ts";
import type { Emitter, JobFields } from "../../core/events.ts";
import type { ResultStore } from "../../client/buckets/result_store.ts";
import { type Held, type JobSink, move } from "../intake/held.ts";
import { safely } from "../intake/broker.ts";
import { fields, outcomeEvent, resultRecord } from "./_outcome.ts";
import { ResultWrites } from "./result_writes.ts";
import type { FlowRunner } from "../flows/flow_runner.ts";
import type { RunSpans } from "./run_spans.ts";
import { spanHeaders } from "../../client/trace_context.ts";

export { MAX_WRITES_IN_FLIGHT } from "./result_writes.ts";

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
  /** Waits between tries of a result write (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Called when a job left `held`. */
  onGone?: (h: Held) => void;
  /** The spans of runs; null or absent when tracing is off. */
  spans?: RunSpans | null;
}

interface Run {
  ms: number;
  value?: unknown;
}

/** Applies decisions; see the module doc. */
export class Settler {
  #o: SettleOptions;
  #results: ResultWrites | null;
  #inFlight = new Set<Promise<unknown>>();
  #writeTries = new WeakMap<Held, number>();
  #stopped = false;

  constructor(options: SettleOptions) {
    this.#o = options;
    this.#results = options.store ? new ResultWrites({ ...options, store: options.store }) : null;
  }

  /**
   * Apply a decision to a job that reached `settling`. Synchronous unless
   * something must be stored before the message is settled.
   */
  apply(h: Held, d: Decision, ms: number, value?: unknown): void | Promise<void> {
    const results = this.#results !== null && !h.policy.ignoreResult;
    // A debounced job claimed no key: nothing to release (dispatch.ts reads the key once, when the job arrives).
    const unique = h.unique !== undefined;
    const plan = planSettlement(d, { acksLate: h.policy.acksLate, acked: h.acked, flow: h.flow !== undefined, results, unique });
    this.#o.spans?.decided(h, d);
    return this.#run(h, d, plan, 0, { ms, value });
  }

  #run(h: Held, d: Decision, plan: Effect[], from: number, r: Run): void | Promise<void> {
    for (let i = from; i < plan.length; i++) {
      const e = plan[i];
      const pending = this.#effect(h, d, e, r);
      if (pending === undefined) continue;
      // An effect that must be stored first: the rest of the plan waits for it.
      return this.#track(pending.then((ok) => (ok ? this.#run(h, d, plan, i + 1, r) : this.#failed(h, d, plan, i, r))));
    }
    this.#gone(h);
  }

  /** Run one effect: undefined when it was done at once, else whether it succeeded. */
  #effect(h: Held, d: Decision, e: Effect, r: Run): Promise<boolean> | undefined {
    const { sink, emitter } = this.#o;
    switch (e.kind) {
      case "advance_flow":
        return this.#advance(h, d, r);
      case "publish_retry":
        return sink.retry(h, d.retry!.countdown, d.retry!.retries).then(
          () => true,
          (err) => report(emitter, "retry", `Cannot schedule retry of '${h.id}': ${errorText(err)}`),
        );
      case "dead_letter":
        return sink.deadLetter(h, d.deadLetter!, d.error).then(
          () => true,
          (err) => report(emitter, "dead_letter", `Cannot dead-letter '${h.id}': ${errorText(err)}`),
        );
      case "write_result": {
        const record = this.#results!.record(h, d, r.value);
        if (e.before) return this.#results!.write(h, record);
        // After the ack: the job goes on; its result is written until it is stored.
        const sleeper = this.#o.sleep ?? sleep;
        this.#track(this.#results!.writeUntilStored(h, record, { stopped: () => this.#stopped, sleep: sleeper }));
        return undefined;
      }
      case "broker":
        this.#broker(h, e.action);
        return undefined;
      case "release_unique": {
        // Not waited for: a release that fails leaves the key to the next enqueue's stale check.
        const key = h.unique ?? "";
        const released = sink.releaseUnique?.(h, key);
        if (released) this.#track(released.catch((err) => report(emitter, "unique", `Cannot release unique key '${key}' of '${h.id}': ${errorText(err)}`)));
        return undefined;
      }
      case "event":
        emitter.emit(outcomeEvent(h, d, r.ms));
        return undefined;
    }
  }

  #advance(h: Held, d: Decision, r: Run): Promise<boolean> | undefined {
    const runner = this.#o.flowRunner?.() ?? null;
    const flow = h.flow!;
    if (runner === null) return undefined;
    const advanced = d.state === "SUCCESS" || d.event === "job.ignored"
      ? runner.succeeded(flow, r.value, h.span === undefined ? undefined : spanHeaders(h.span))
      : d.state === "FAILURE" || d.state === "REVOKED"
      ? runner.failed(flow, { task: h.task, state: d.state }, d.error)
      : null;
    if (advanced === null) return undefined;
    return advanced.then(() => {
      h.flow = undefined;
      return true;
    }, (err) => report(this.#o.emitter, "flow", `Cannot advance flow '${flow.id}' after '${h.id}': ${errorText(err)}`));
  }

  /** The failure policy of core/settle_plan.ts, applied to effect `at` of the plan. */
  #failed(h: Held, d: Decision, plan: Effect[], at: number, r: Run): void | Promise<void> {
    const emitter = this.#o.emitter;
    switch (onFailure(plan[at].kind, h.acked)) {
      case "requeue":
        // Not acked: it runs again (a flow's next steps and a retry are deduplicated by id).
        safely(emitter, "nak", () => h.msg.nak(1000));
        return this.#gone(h);
      case "retry_effect":
        if (this.#stopped) {
          safely(emitter, "nak", () => h.msg.nak(1000));
          emitter.emit({ type: "job.requeued", note: "its result could not be stored before shutdown: it runs again", ...fields(h) });
          return this.#gone(h);
        }
        // Its lease is renewed while it settles: the write is tried again, the task is not run again.
        return this.#track((this.#o.sleep ?? sleep)(this.#backoff(h)).then(() => this.#run(h, d, plan, at, r)));
      case "record_failure": {
        // Acked already: the job would vanish. Leave a dead letter and a FAILURE instead.
        const reason = "Its retry could not be scheduled after the job was acked (early ack)";
        const error = d.error ?? { name: "RetryNotScheduled", message: reason };
        const failed: Decision = { broker: { op: "acked" }, state: "FAILURE", event: "job.failed", error, deadLetter: reason };
        const results = this.#results !== null && !h.policy.ignoreResult;
        this.#o.spans?.decided(h, failed);
        return this.#run(h, failed, planSettlement(failed, { acksLate: false, acked: true, flow: false, results }), 0, r);
      }
      case "report":
        return this.#run(h, d, plan, at + 1, r);
    }
  }

  #broker(h: Held, action: BrokerAction): void {
    const emitter = this.#o.emitter;
    switch (action.op) {
      case "ack":
        safely(emitter, "ack", () => h.msg.ack());
        break;
      case "acked":
        if (!h.acked) safely(emitter, "ack", () => h.msg.ack());
        break;
      case "nak":
        safely(emitter, "nak", () => h.msg.nak(action.delayMs || undefined));
        break;
      case "term":
        this.#termThenRemove(h.msg, action.reason, h.seq);
        break;
    }
    h.acked = true;
  }

  #gone(h: Held): void {
    move(h, "settle");
    this.#o.spans?.ended(h);
    this.#o.held.delete(h);
    this.#o.onGone?.(h);
  }

  #backoff(h: Held): number {
    const n = (this.#writeTries.get(h) ?? 0) + 1;
    this.#writeTries.set(h, n);
    return Math.min(5_000, 100 * 2 ** Math.min(n, 6));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
    return p;
  }

  /** How many more jobs the worker may take before result writes catch up (0 while too many are in flight). */
  get room(): number {
    return this.#results?.room ?? Infinity;
  }

  /** Resolves once result writes in flight dropped to half the bound. */
  whenRoom(): Promise<void> {
    return this.#results?.whenRoom() ?? Promise.resolve();
  }

  /** Shutdown: a result that cannot be stored is given up (the job is naked) instead of tried again. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves when every settlement in flight is done, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * Term the message, then delete it from the work stream once the server has
   * processed the term. Deleted first, the server (2.15.3 does) reports the
   * term itself, with "Unacknowledged message was deleted" as its reason instead of qw's.
   */
  #termThenRemove(msg: JsMsg, reason: string, seq: number): void {
    const { emitter, sink } = this.#o;
    const sent = this.#o.termReasons ? reason : "";
    const confirmable = msg as JsMsg & { termAck?: (reason: string) => Promise<boolean> };
    if (typeof confirmable.termAck !== "function") {
      safely(emitter, "term", () => msg.term(sent));
      sink.remove(seq);
      return;
    }
    // Removed even when no answer comes (a lost reply, a closing connection), as before; close() waits for it.
    void this.#track(
      confirmable.termAck(sent).catch((e) => {
        emitter.emit({ type: "error", where: "broker.term", error: `Cannot term a message: ${errorText(e)}` });
      }).then(() => sink.remove(seq)),
    );
  }

  /** A message that cannot run: dead-letter it, term it, and store FAILURE for its id so `qw result` says why. */
  invalid(msg: JsMsg, job: JobFields, reason: string): void {
    const { emitter, sink, store } = this.#o;
    emitter.emit({ type: "job.invalid", seq: msg.seq, subject: msg.subject, reason });
    sink.deadLetter({ msg, seq: job.seq }, reason).then(
      () => {
        this.#termThenRemove(msg, reason, job.seq);
        if (!store) return;
        const error = { name: "InvalidJobError", message: reason };
        const record = resultRecord(job, this.#o.workerName, this.#o.now(), "FAILURE", { error, deadLetter: reason });
        store.write(record).catch((e) => emitter.emit({ type: "result.store_failed", id: job.id, state: "FAILURE", error: errorText(e) }));
      },
      (e) => {
        emitter.emit({ type: "error", where: "dead_letter", error: `Cannot dead-letter message ${msg.seq}: ${errorText(e)}` });
        safely(emitter, "nak", () => msg.nak(1000));
      },
    );
  }
}

function report(emitter: Emitter, where: string, error: string): false {
  emitter.emit({ type: "error", where, error });
  return false;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
