/**
 * The path of one message through its life (core/job/job_life.ts): read ->
 * rate gate -> pool -> decideAck() -> settle (settle/settle.ts). Spawns no
 * Web Workers and opens no connections: its collaborators are injected. A
 * held job's lease is renewed only while it makes progress (leases.ts), so
 * no job is held hostage by a pool that stopped.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { admitDelivery, capReason, decideAck, type Outcome } from "../../core/job/ack_policy.ts";
import type { HandBackCause, JobFields } from "../../core/events.ts";
import type { Progress } from "../../core/types.ts";
import type { RevokeRecord } from "../../client/buckets/revocations.ts";
import { type Delivery, readDelivery, storedAtMs } from "./delivery.ts";
import { isExpired, jobExpiry } from "../../core/job/expiry.ts";
import { confirmAck, needsConfirmation } from "./confirm_ack.ts";
import { touchLeases } from "./leases.ts";
import { writeInterim } from "../settle/interim.ts";
import { RateGate, rateCounterDown } from "./rate_gate.ts";
import { FLOW_START_TASK, flowOf } from "../flows/flow_steps.ts";
import { type Held, type JobSink, move } from "./held.ts";
import type { DispatchOptions } from "./dispatch_options.ts";
import { hasStarted, isWaiting } from "../../core/job/job_life.ts";
import { HandBacks } from "./hand_back.ts";
import { safely } from "./broker.ts";
import { fields, startedEvent } from "../settle/_outcome.ts";
import { Settler } from "../settle/settle.ts";
import { KEYED_LOST, lostKeyedRun } from "../../core/job/concurrency_key.ts";

export { RATE_SLOT_HEADER } from "./rate_gate.ts";

export type { DispatchOptions, Held, JobSink };

/** Turns messages into pool jobs and outcomes into broker actions. */
export class Dispatcher {
  /** Every message held and not yet settled. */
  readonly held = new Set<Held>();
  /** The held job of each stream sequence: a redelivery of one is not a second job. */
  #bySeq = new Map<number, Held>();
  #handBacks: HandBacks;
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
    this.#settler = new Settler({
      ...options,
      held: this.held,
      now: this.#now,
      flowRunner: () => options.flows?.runner ?? null,
      onGone: (h) => this.#bySeq.get(h.seq) === h && this.#bySeq.delete(h.seq),
    });
    this.#handBacks = new HandBacks({ sink: options.sink, emitter: options.emitter, held: this.held, connected: options.connected ?? (() => true) });
    this.#gate = new RateGate<Held>({
      ackWaitMs: options.ackWaitMs, now: this.#now, counter: options.rateCounter,
      release: (h) => this.#submit(h),
      defer: (h, at, wait, reserved) => this.#defer(h, at, wait, reserved),
      unreachable: (e) => e !== null && options.emitter.emit({ type: "error", where: "rate_limit", error: rateCounterDown(e) }),
    });
  }

  /** A message arrived from the consumer (`read`: its delivery, when the caller read it already). Never throws. */
  onMessage(msg: JsMsg, read?: Delivery): void {
    const { seq, deliveryCount, task, id, retries, runsBefore, hdr, expiresAt: header, invalid, keyed } = read ?? readDelivery(msg, this.#o.stream, this.#prefix);
    const again = this.#bySeq.get(seq);
    if (again !== undefined) return this.#redelivered(again, msg, deliveryCount);
    if (invalid !== null) return this.#settler.invalid(msg, { id, task, retries, deliveryCount, seq }, invalid);
    if (task === FLOW_START_TASK && this.#o.flows) {
      const job = { id, task, retries, deliveryCount, seq };
      if (!admitDelivery(runsBefore + 1, this.#o.maxDeliveries)) return this.#settler.invalid(msg, job, capReason(runsBefore + 1, this.#o.maxDeliveries));
      return this.#o.flows.startMessage(msg, job);
    }
    const policy = this.#o.tasks()[task];
    if (!policy) return this.#settler.invalid(msg, { id, task, retries, deliveryCount, seq }, `Unknown task '${task}' (subject '${msg.subject}')`);
    const now = this.#now();
    const expiresAt = header === null && policy.expires !== null ? jobExpiry(null, policy.expires, storedAtMs(msg)) : header;
    const held: Held = { // field by field (no spreads): this runs for every job
      id, task, retries, deliveryCount, seq, msg, policy, runsBefore, state: "received", acked: false, startedAt: 0, heldAt: now, lastTouch: now, expiresAt, keyed,
      unique: hdr.unique && !hdr.debounce ? hdr.unique : undefined,
    };
    if (hdr.flow) {
      const flow = flowOf(msg.data);
      if (!flow) return this.#settler.invalid(msg, held, "Body of a flow step has no valid 'flow': expected {\"args\": [...], \"flow\": {id, path, then}}");
      held.flow = flow;
    }
    this.held.add(held);
    this.#bySeq.set(seq, held);
    if (!admitDelivery(runsBefore + 1, this.#o.maxDeliveries)) {
      const reason = capReason(runsBefore + 1, this.#o.maxDeliveries);
      const error = { name: "DeliveryCapExceeded", message: reason };
      move(held, "end");
      void this.#settler.apply(held, { broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", error, deadLetter: reason }, 0);
      return;
    }
    if (this.#o.revoked(id)) return this.#unstarted(held, { kind: "revoked", reason: "revoked before it started" });
    if (keyed && lostKeyedRun({ acksLate: policy.acksLate, deliveryCount })) return this.#unstarted(held, KEYED_LOST);
    // Checked again in the Web Worker just before it starts (worker_entry.ts): it may expire while queued.
    if (isExpired(expiresAt, now)) return this.#unstarted(held, { kind: "expired", at: expiresAt! });
    if (this.#gate.admit(held, hdr.rateSlot)) this.#submit(held);
    else move(held, "gate");
  }

  /**
   * The server delivered again a message this process still holds (its lease
   * ran out, say while the process was frozen). It is the same job: the newer
   * delivery's handle settles it, and it does not run a second time here.
   */
  #redelivered(h: Held, msg: JsMsg, deliveryCount: number): void {
    h.msg = msg;
    h.deliveryCount = deliveryCount;
    h.lastTouch = this.#now();
    this.#o.emitter.emit({ type: "job.redelivered_held", ...fields(h) });
    // Acked already (early ack): the ack of the old delivery may have been lost; say it again.
    if (h.acked) safely(this.#o.emitter, "ack", () => msg.ack());
  }

  #submit(held: Held): void {
    if (needsConfirmation(held)) {
      return confirmAck(held, { confirmed: () => this.#submit(held), unconfirmed: (why) => this.#unconfirmed(held, why) });
    }
    if (!move(held, "queue")) return;
    // The task's context counts deliveries that may have run: a handed-back copy is not "redelivered".
    // msg.data is a view into the socket buffer; the pool copies it into its batch buffer.
    this.#o.submit({ task: held.task, data: held.msg.data, id: held.id, retries: held.retries, deliveryCount: held.runsBefore + 1, ref: held, startBy: held.expiresAt ?? 0 });
  }

  /** confirmAck: the ack was not confirmed, so the job is not run here (see confirm_ack.ts). */
  #unconfirmed(held: Held, why: string): void {
    this.#o.emitter.emit({ type: "error", where: "confirm_ack", error: `Cannot confirm the ack of '${held.id}' (${why}): not run here` });
    move(held, "hand_back");
    this.held.delete(held);
    if (this.#bySeq.get(held.seq) === held) this.#bySeq.delete(held.seq);
  }

  #defer(held: Held, at: number, wait: number, reserved: boolean): void {
    // A deferral is settled by its copy: the original is acked (or naked when no copy was stored).
    if (move(held, "end")) void this.#handBacks.defer(held, at, wait, reserved).then(() => this.#gone(held));
  }

  #gone(h: Held): void {
    move(h, "settle");
    this.held.delete(h);
    if (this.#bySeq.get(h.seq) === h) this.#bySeq.delete(h.seq);
  }

  /** Shutdown: a result that cannot be stored is given up (its job naked) instead of tried again. */
  stopSettling(): void {
    this.#settler.stop();
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
    if (!move(h, "start")) return;
    h.startedAt = this.#now();
    this.#o.spans?.started(h);
    this.#earlyAck(h);
    if (h.policy.trackStarted) this.#writeInterim(h, "STARTED");
    if (this.#o.emitter.active) this.#o.emitter.emit(startedEvent(h));
  }

  /**
   * Its Web Worker finished the job and its outcome is on the way (results
   * cross in batches, and a long synchronous task behind it can hold them):
   * it ran, so an early ack is due now, and its lease is renewed until the
   * outcome arrives; it is never handed back as if it had not run.
   */
  onFinished(h: Held): void {
    const fresh = h.state === "queued";
    if (!move(h, "finish")) return;
    if (fresh) {
      h.startedAt = this.#now();
      this.#o.spans?.started(h);
      this.#earlyAck(h);
    }
  }

  #earlyAck(h: Held): void {
    // A flow's step is acked once the flow advanced (a crash never stalls it); a keyed job at its end (it frees a slot).
    if (!h.policy.acksLate && !h.acked && !h.flow && !h.keyed) {
      h.acked = true;
      safely(this.#o.emitter, "ack", () => h.msg.ack());
    }
  }

  /** A running job reported progress: store it as PROGRESS, after whatever was written before. */
  onProgress(h: Held, fraction: number, meta: unknown): void {
    // Progress comes from a Web Worker that runs the job: it started, whether or not the pool looked yet.
    if (h.state === "queued") this.onStarted(h);
    if (!hasStarted(h.state)) return;
    this.#writeInterim(h, "PROGRESS", { fraction, meta });
  }

  #writeInterim(h: Held, state: "STARTED" | "PROGRESS", progress?: Progress): void {
    writeInterim(h, state, { store: this.#o.store, emitter: this.#o.emitter, workerName: this.#o.workerName, now: this.#now(), progress });
  }

  /**
   * A revoke arrived: a held job that has not started never will (it is
   * acked, REVOKED); a running one is terminated when the revoke says so,
   * else it finishes. One that is starting this very moment is tried again.
   */
  revoke(r: RevokeRecord): void {
    for (const h of this.held) {
      if (h.id !== r.id) continue;
      if (isWaiting(h.state) && (this.#gate.cancel(h) || h.state === "received" || this.#o.withdraw(h))) {
        this.#unstarted(h, { kind: "revoked", reason: "revoked before it started" });
      } else if (isWaiting(h.state)) {
        this.#revokeLater.set(h, r);
      } else if (h.state === "running" && r.terminate && !this.#o.terminate(h)) {
        this.#revokeLater.set(h, r);
      }
    }
  }

  /** A job that never starts (revoked, expired): acked and stored REVOKED. */
  #unstarted(h: Held, outcome: Outcome): void {
    if (move(h, "end")) void this.#settler.apply(h, this.#decide(h, outcome), 0);
  }

  #decide(h: Held, outcome: Outcome) {
    return decideAck(outcome, {
      policy: h.policy,
      // Runs, not deliveries: a hand-back is not a run (see hand_back.ts).
      deliveryCount: h.runsBefore + 1,
      retries: h.retries,
      maxDeliveries: this.#o.maxDeliveries,
      random: this.#o.random ?? Math.random,
    });
  }

  /** A job ended; decide and apply. */
  onResult(h: Held, outcome: Outcome, ms: number): void {
    this.#revokeLater.delete(h);
    if (!move(h, "end")) return;
    void this.#settler.apply(h, this.#decide(h, outcome), ms, outcome.kind === "success" ? outcome.value : undefined);
  }

  /** Give a job back to the stream now (see hand_back.ts): one that did not run, or an acksLate one. */
  handBack(h: Held, reason: string, cause: HandBackCause = "shutdown"): void {
    this.#revokeLater.delete(h);
    this.#handBacks.handBack(h, reason, cause);
    this.#o.spans?.ended(h, reason);
    if (this.#bySeq.get(h.seq) === h) this.#bySeq.delete(h.seq);
  }

  /** Resolves when every hand-back and settlement in flight is done, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    await Promise.all([this.#handBacks.idle(timeoutMs), this.#settler.idle(timeoutMs)]);
  }

  /**
   * Renew the lease of every held job that makes progress; hand back those
   * that waited too long without starting (see core/job/lease.ts). Returns how
   * many leases were renewed.
   */
  touchLeases(pool: { sinceProgressMs: number }): number {
    for (const [h, r] of [...this.#revokeLater]) {
      this.#revokeLater.delete(h);
      if (this.held.has(h)) this.revoke(r);
    }
    return touchLeases(this.held, {
      now: this.#now(),
      ackWaitMs: this.#o.ackWaitMs,
      pool,
      emitter: this.#o.emitter,
      takeBack: (h) => this.#gate.cancel(h) || this.#o.withdraw(h),
      handBack: (h, reason, cause) => this.handBack(h, reason, cause),
    });
  }
}
