/**
 * The pauses as one worker process applies them (service.ts wires it in a
 * few lines): the {@linkcode PauseGate} kept current, held jobs taken back
 * when a pause comes, a job that reaches the pool while paused handed back
 * instead, the delayed releaser's hold, and the consumer's pause on the
 * server (2.11+) kept in line with the bucket.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import type { KV } from "@nats-io/kv";
import { errorText } from "../../client/connection.ts";
import type { QwEvent } from "../../core/events.ts";
import { holdMs, type PauseDecision } from "../../core/pause.ts";
import { syncConsumerPause } from "../../ops/pause_control.ts";
import { PAUSE_RECHECK_MS } from "./park.ts";
import { PauseGate } from "./pause_gate.ts";

/** What a worker's pauses act on. */
export interface WorkerPausesOptions<H extends { task: string; state: string }> {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  emit(e: QwEvent): void;
  /** The jobs held now. */
  held(): Iterable<H>;
  /** Take a queued job back from the pool; false when a Web Worker has it already. */
  withdraw(h: H): boolean;
  /** Hand a job that did not start back to the server (parked when only its task is paused). */
  handBack(h: H, reason: string): void;
}

const reasonOf = (d: PauseDecision, task: string) => (d.paused && d.scope === "stream" ? "the stream is paused" : `task '${task}' is paused`);

/** A worker's pauses: the gate and the hooks the consumer, dispatcher and releaser call. */
export class WorkerPauses<H extends { task: string; state: string }> {
  readonly gate: PauseGate;
  #o: WorkerPausesOptions<H>;

  constructor(o: WorkerPausesOptions<H>) {
    this.#o = o;
    const target = { stream: o.stream, consumer: o.consumer };
    this.gate = new PauseGate({
      stream: o.stream,
      emit: o.emit,
      onChange: () => this.#takeBack(),
      // Whoever changed the bucket, the consumer's pause on the server follows it.
      onStreamPause: (paused, until) =>
        void syncConsumerPause(o.nc, target, until, paused).catch((e) =>
          o.emit({ type: "error", where: "pauses", error: `Cannot ${paused ? "pause" : "resume"} consumer '${o.consumer}' on the server: ${errorText(e)}` })
        ),
    });
  }

  /** Read every stored pause (from `kv`, the pauses bucket, when the set-up opened it), then follow the bucket. */
  watch(kv?: KV): Promise<void> {
    return kv ? this.gate.watch(this.#o.nc, this.#o.stream, kv) : this.gate.watch(this.#o.nc, this.#o.stream);
  }

  /** A job is about to reach the pool: true when it may; otherwise it was handed back. */
  admit(h: H): boolean {
    const d = this.gate.decision(h.task);
    if (!d.paused) return true;
    this.#o.handBack(h, reasonOf(d, h.task));
    return false;
  }

  /** How long the delayed releaser keeps a due job of `task` (its task is paused). */
  hold(task: string, now: number): number {
    return holdMs(this.gate.decision(task), now, PAUSE_RECHECK_MS);
  }

  stop(): void {
    this.gate.stop();
  }

  /** A pause came: every queued job it pauses is taken back from the pool and handed back. */
  #takeBack(): void {
    for (const h of [...this.#o.held()]) {
      if (h.state !== "queued") continue;
      const d = this.gate.decision(h.task);
      if (d.paused && this.#o.withdraw(h)) this.#o.handBack(h, reasonOf(d, h.task));
    }
  }
}
