/**
 * Serves the concurrency keys of a stream in turn (core/job/concurrency_key.ts
 * decides the order): at most one pull of one job open per key, given to the
 * keys longest unserved while the pool has room. Each pull goes to the key's
 * own durable consumer (key_consumers.ts), whose `max_ack_pending` is the
 * task's limit, so the server holds a pull on a key at its limit and answers
 * it the moment a slot frees (an ack, or a dead process's ack wait running
 * out). Never decides acks: every job goes to the dispatcher.
 *
 * The active keys are the key subjects that hold messages (waiting or in
 * flight): read from the stream's subject counts every `pollMs`, and at once
 * for a key this process routed a job to. A process none of whose tasks has
 * `concurrency` reads them once at its start, and every `pollMs` only from the
 * first key it meets (a job that carried the header alone): until then it
 * sends no request for keys.
 *
 * @module
 */

import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import { grantPulls, keyPullExpiry, keySubjects, mergeActive, served } from "../../core/job/concurrency_key.ts";
import { pullStatus } from "../intake/consumer.ts";
import { JobMessage } from "../intake/job_message.ts";
import type { KeyConsumers } from "./key_consumers.ts";

const GRACE_MS = 1_000;
const DEFAULT_POLL_MS = 500;
/** How long polls fail before the failure is reported. */
const REPORT_AFTER_MS = 5_000;

/** What the key puller needs from its owner. */
export interface KeyPullerOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  consumers: KeyConsumers;
  /** How many more jobs the process can take now. */
  room(): number;
  /** Resolves when room may have grown. */
  whenRoom(): Promise<void>;
  onMessage(m: JsMsg): void;
  /** A job an open pull brought after `stop()`. */
  onLate(m: JsMsg): void;
  /** A failure; `transient` ones (the stream unreadable for a while: an outage, a leader change) are retried. */
  onError(error: string, transient: boolean): void;
  pollMs?: number;
  /** Whether a task of the tasks file has `concurrency`: the keys are then read every `pollMs` from the start. */
  keyed?: () => boolean;
  /** The clock (tests). */
  now?: () => number;
}

interface OpenPull {
  subject: string;
  endsAt: number;
}

/** Pulls from the active keys' consumers in turn; `stop()` ends it. */
export class KeyPuller {
  #o: KeyPullerOptions;
  #inbox = createInbox();
  #sub: Subscription | null = null;
  #order: string[] = [];
  /** Open pulls by reply token, and the key subjects that have one. */
  #pulls = new Map<string, OpenPull>();
  #openKeys = new Set<string>();
  #n = 0;
  #stopped = false;
  /** Since when polls fail (0: the last one worked); a streak is reported once, when it outlasts REPORT_AFTER_MS. */
  #failingSince = 0;
  #reported = false;
  #kick: (() => void) | null = null;
  #loopDone: Promise<void> | null = null;
  #timers: ReturnType<typeof setInterval>[] = [];
  #polling = false;

  constructor(options: KeyPullerOptions) {
    this.#o = options;
  }

  /** Start polling for active keys and pulling from them. */
  start(): void {
    if (this.#loopDone) return;
    this.#sub = this.#o.nc.subscribe(`${this.#inbox}.*`, { callback: (_e, m) => this.#onReply(m) });
    this.#timers.push(setInterval(() => this.#expire(Date.now()), 250));
    if (this.#o.keyed?.() ?? true) this.#startPolling();
    void this.poll();
    this.#loopDone = this.#loop();
  }

  /** Whether the active keys are read every `pollMs` (from the start, or since the first key met). */
  get polling(): boolean {
    return this.#polling;
  }

  #startPolling(): void {
    if (this.#polling || this.#stopped || this.#sub === null) return; // not started, or stopped
    this.#polling = true;
    this.#timers.push(setInterval(() => void this.poll(), this.#o.pollMs ?? DEFAULT_POLL_MS));
  }

  /** The keys with an open pull or waiting for their turn, in turn order (for tests and the dashboard). */
  get keys(): readonly string[] {
    return this.#order;
  }

  /** A job was just routed to `subject`: serve that key without waiting for the next poll. */
  noteKey(subject: string): void {
    this.#startPolling();
    if (this.#order.includes(subject)) return;
    this.#order = [...this.#order, subject];
    this.#kick?.();
  }

  /** Read the active keys from the stream's subject counts. */
  async poll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const si = await this.#o.jsm.streams.info(this.#o.stream, { subjects_filter: keySubjects(this.#o.stream) });
      const counts = si.state.subjects ?? {};
      const active = Object.keys(counts).filter((s) => counts[s] > 0);
      // A key that holds nothing leaves now, even with a pull open: kept, it would take a pull at every turn.
      this.#order = mergeActive(this.#order, active);
      if (active.length > 0) this.#startPolling();
      this.#failingSince = 0;
      this.#reported = false;
      this.#kick?.();
    } catch (e) {
      if (this.#stopped) return;
      // A reconnect, a restarted server's JetStream or a leader change makes polls fail for a moment: not worth a line.
      const now = (this.#o.now ?? Date.now)();
      if (this.#failingSince === 0) this.#failingSince = now;
      if (this.#reported || now - this.#failingSince < REPORT_AFTER_MS) return;
      this.#reported = true;
      this.#o.onError(`cannot read the active concurrency keys for ${((now - this.#failingSince) / 1000).toFixed(0)} s (${(e as Error).message}); reading again every poll`, true);
    }
  }

  /**
   * Stop pulling. Open pulls cannot be cancelled on the server: they run until
   * they end (at most their expiry) and what they still bring goes to `onLate`.
   */
  async stop(o: { waitForPulls?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#kick?.();
    await this.#loopDone;
    for (const t of this.#timers) clearInterval(t);
    const deadline = Date.now() + 2_000 + GRACE_MS;
    while (o.waitForPulls !== false && this.#pulls.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#sub?.unsubscribe();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      await this.#pump();
      await new Promise<void>((resolve) => {
        this.#kick = resolve;
        void this.#o.whenRoom().then(resolve);
      });
      this.#kick = null;
    }
  }

  async #pump(): Promise<void> {
    const free = this.#o.room() - this.#pulls.size;
    if (free <= 0) return;
    const grants = grantPulls(this.#order, this.#openKeys, free);
    const expires = keyPullExpiry(this.#order.length, this.#o.room());
    for (const subject of grants) {
      this.#openKeys.add(subject);
      const name = await this.#o.consumers.ensure(subject).catch((e) => {
        this.#o.onError(`Cannot create the consumer of key subject '${subject}': ${(e as Error).message}`, false);
        return null;
      });
      if (name === null || this.#stopped) {
        this.#openKeys.delete(subject);
        this.#order = served(this.#order, subject);
        continue;
      }
      this.#request(subject, name, expires);
    }
  }

  #request(subject: string, consumer: string, expires: number): void {
    const token = (++this.#n).toString(36);
    this.#pulls.set(token, { subject, endsAt: Date.now() + expires + GRACE_MS });
    try {
      const api = `$JS.API.CONSUMER.MSG.NEXT.${this.#o.stream}.${consumer}`;
      this.#o.nc.publish(api, JSON.stringify({ batch: 1, expires: expires * 1_000_000 }), { reply: `${this.#inbox}.${token}` });
    } catch (e) {
      this.#end(token, true);
      this.#o.onError(`Cannot pull from key subject '${subject}': ${(e as Error).message}`, true);
    }
  }

  #onReply(m: Msg): void {
    const token = m.subject.slice(this.#inbox.length + 1);
    if (m.reply?.startsWith("$JS.ACK.")) {
      // A delivery carries the stream's subject, not the request's: its key's one open pull is filled.
      for (const [t, p] of this.#pulls) if (p.subject === m.subject) this.#end(t, true);
      const msg = new JobMessage(m, this.#o.nc);
      if (this.#stopped) this.#o.onLate(msg);
      else this.#o.onMessage(msg);
      return;
    }
    const status = pullStatus(m.headers?.code ?? 0, m.headers?.description ?? "");
    if (!status.ends) return;
    const p = this.#pulls.get(token);
    // A refusal (its consumer removed, say after its inactive threshold): the consumer is made again at its next turn.
    if (p && status.error) this.#o.consumers.forget(p.subject);
    this.#end(token, true);
  }

  /** Pull `token` ended; its key gives its turn to the next one. */
  #end(token: string, turnTaken: boolean): void {
    const p = this.#pulls.get(token);
    if (!p) return;
    this.#pulls.delete(token);
    this.#openKeys.delete(p.subject);
    if (turnTaken) this.#order = served(this.#order, p.subject);
    this.#kick?.();
  }

  // A pull whose end the server never said (the connection dropped) is taken as ended.
  #expire(now: number): void {
    for (const [token, p] of this.#pulls) if (p.endsAt <= now) this.#end(token, true);
  }
}
