/**
 * Pulls messages from a durable pull consumer, never more than the pool has
 * room for, so no message waits in a client-side buffer while its ack wait
 * runs out. Never decides acks and never touches Web Workers.
 *
 * Credits: every open pull request reserves its batch size. A new pull is
 * sent when there is room beyond the open credits (always when none is open,
 * otherwise in chunks of at least MIN_EXTRA_PULL to keep requests few).
 *
 * @module
 */

import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { errorText } from "../client/connection.ts";

const MIN_EXTRA_PULL = 64;
// Short, because shutdown waits for open pull requests to expire.
const PULL_EXPIRES_MS = 2_000;

/** What the puller needs from its owner. */
export interface PullerOptions {
  consumer: Consumer;
  /** How many more messages the owner can take now. */
  room(): number;
  /** Resolves when room may have grown. */
  whenRoom(): Promise<void>;
  onMessage(m: JsMsg): void;
  /** A pull failed; `transient` ones (missed heartbeats) are retried at once. */
  onError(error: string, transient: boolean): void;
  expiresMs?: number;
}

/** A pull loop with credit accounting; `stop()` ends it. */
export class Puller {
  #opts: PullerOptions;
  #outstanding = 0;
  #stopped = false;
  #pulls = new Set<Promise<void>>();
  #kick: (() => void) | null = null;
  #done: Promise<void> | null = null;

  constructor(opts: PullerOptions) {
    this.#opts = opts;
  }

  /** Start pulling. */
  start(): void {
    this.#done ??= this.#loop();
  }

  /**
   * Stop pulling: no new requests. Open requests cannot be cancelled on the
   * server, and a message already on its way would be dropped by an
   * unsubscribe (and come back only after its ack wait), so they run until
   * they expire and whatever they still bring is handed back at once.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#kick?.();
    await this.#done;
    await Promise.all(this.#pulls);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const want = this.#opts.room() - this.#outstanding;
      if (want > 0 && (this.#outstanding === 0 || want >= MIN_EXTRA_PULL)) {
        const p = this.#pull(want);
        this.#pulls.add(p);
        void p.finally(() => this.#pulls.delete(p));
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#kick = resolve;
        void this.#opts.whenRoom().then(resolve);
      });
      this.#kick = null;
    }
  }

  async #pull(n: number): Promise<void> {
    this.#outstanding += n;
    let received = 0;
    try {
      const it = await this.#opts.consumer.fetch({ max_messages: n, expires: this.#opts.expiresMs ?? PULL_EXPIRES_MS });
      for await (const m of it) {
        received++;
        this.#outstanding--;
        if (this.#stopped) {
          // Hand back at once whatever arrives after stop.
          m.nak();
          continue;
        }
        this.#opts.onMessage(m);
      }
    } catch (e) {
      if (!this.#stopped) {
        const error = errorText(e);
        const transient = /heartbeat/i.test(error);
        this.#opts.onError(error, transient);
        if (!transient) await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      this.#outstanding -= n - received;
      this.#kick?.();
    }
  }
}
