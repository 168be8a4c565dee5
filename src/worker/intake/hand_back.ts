/**
 * Giving a job back to the stream without running it (it waited too long
 * here, shutdown, a stall). A nak would raise the message's delivery count,
 * which qw reads as earlier runs: five hand-backs in a rolling deploy would
 * dead-letter a job "delivered 6 times" that never ran. So a hand-back
 * publishes a copy that carries the runs before it (`Qw-Runs`) and then acks
 * the original; only when that copy cannot be stored (or the connection is
 * down) does it fall back to a nak.
 *
 * @module
 */

import { errorText } from "../../client/connection.ts";
import { isWaiting } from "../../core/job/job_life.ts";
import type { Emitter, HandBackCause } from "../../core/events.ts";
import { fields } from "../settle/_outcome.ts";
import { type Held, type JobSink, move } from "./held.ts";
import { safely } from "./broker.ts";

/** What hand-backs need. */
export interface HandBackOptions {
  sink: JobSink;
  emitter: Emitter;
  /** The dispatcher's held jobs: a job leaves it when handed back. */
  held: Set<Held>;
  /** Whether the connection is up; while it is down a hand-back is a nak (nothing can be published). */
  connected: () => boolean;
}

/** Hands jobs back; {@linkcode HandBacks.idle} resolves when every copy in flight is stored (or given up). */
export class HandBacks {
  #o: HandBackOptions;
  #inFlight = new Set<Promise<void>>();

  constructor(options: HandBackOptions) {
    this.#o = options;
  }

  /** Give `h` back now; false when it cannot be (it settled or was handed back already). */
  handBack(h: Held, reason: string, cause: HandBackCause): boolean {
    const wasAcked = h.acked;
    // Acked and started (early ack): it ran here, at most once; nothing goes back.
    if (wasAcked && !isWaiting(h.state)) {
      this.#o.held.delete(h);
      return false;
    }
    if (!move(h, "hand_back")) return false;
    this.#o.held.delete(h);
    this.#o.emitter.emit({ type: "job.handed_back", reason, cause, ...fields(h) });
    // An acked message is gone from the stream's view: only a copy can bring it back.
    if (!this.#o.connected()) {
      if (!wasAcked) safely(this.#o.emitter, "nak", () => h.msg.nak());
      return true;
    }
    // The copy is acked by the server before the original is: renew the original's lease first, so a slow round
    // trip (a loaded host, a short ack wait) cannot let the server redeliver it beside the copy (a job twice).
    if (!wasAcked) safely(this.#o.emitter, "working", () => h.msg.working());
    const p = this.#o.sink.handBack(h, h.runsBefore).then(
      () => {
        if (!wasAcked) safely(this.#o.emitter, "ack", () => h.msg.ack());
      },
      (e) => {
        this.#o.emitter.emit({ type: "error", where: "hand_back", error: `Cannot hand back '${h.id}' as a copy: ${errorText(e)}` });
        if (!wasAcked) safely(this.#o.emitter, "nak", () => h.msg.nak());
      },
    ).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
    return true;
  }

  /**
   * A job waits for a rate-limit token until `at`: publish a copy that waits
   * on the server with the token reserved (unless `reserved` is false: a full
   * shared window, the copy claims again), then ack the original; nak it
   * (after at most 5 s) when the copy cannot be stored.
   */
  defer(h: Held, at: number, waitMs: number, reserved = true): Promise<void> {
    const { emitter, sink } = this.#o;
    // As for a hand-back: the original's lease is renewed while its copy is stored.
    if (!h.acked) safely(emitter, "working", () => h.msg.working());
    return sink.defer(h, at, reserved).then(
      () => {
        safely(emitter, "ack", () => h.msg.ack());
        emitter.emit({ type: "job.deferred", until: at, ...fields(h) });
      },
      (e) => {
        emitter.emit({ type: "error", where: "rate_limit", error: `Cannot defer '${h.id}': ${errorText(e)}` });
        safely(emitter, "nak", () => h.msg.nak(Math.min(waitMs, 5_000)));
      },
    );
  }

  /** Resolves when every hand-back in flight settled, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
