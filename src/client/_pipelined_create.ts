/**
 * KV creates sent straight onto the wire, many in flight, with one reply
 * subscription for all of them. The client's own `kv.create()` is a request
 * with its own inbox handling and timer per write, which costs more CPU than
 * the write itself when every job stores a result. Same protocol: a publish on
 * `$KV.<bucket>.<key>` with `Nats-Expected-Last-Subject-Sequence: 0`, whose
 * reply is the stream's publish ack or its error. Private to result_store.ts.
 *
 * @module
 */

import { createInbox, headers as makeHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";

/** Thrown when the key exists already: the caller reads it and decides (the fence). */
export class KeyExistsError extends Error {
  constructor(key: string) {
    super(`Cannot create key '${key}' as it exists: wrong last sequence`);
    this.name = "KeyExistsError";
  }
}

/** JetStream's error code for a wrong expected last subject sequence. */
const WRONG_LAST_SEQUENCE = 10071;
const TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

interface Pending {
  key: string;
  at: number;
  resolve(): void;
  reject(e: Error): void;
}

/** Creates of one bucket's keys, pipelined. */
export class PipelinedCreate {
  #nc: NatsConnection;
  #prefix: string;
  #inbox = createInbox();
  #sub: Subscription;
  #pending = new Map<string, Pending>();
  #n = 0;
  #sweep: ReturnType<typeof setInterval>;
  // The same header on every create, built once: publish only reads it.
  #expectNew = makeHeaders();

  constructor(nc: NatsConnection, bucket: string) {
    this.#nc = nc;
    this.#prefix = `$KV.${bucket}.`;
    this.#expectNew.set("Nats-Expected-Last-Subject-Sequence", "0");
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (_err, m) => this.#reply(m) });
    // One timer for all writes: whatever waited too long fails (a lost connection, a lost reply).
    this.#sweep = setInterval(() => this.#expire(), TIMEOUT_MS / 2);
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  /** Create `key` with `data`; rejects with {@linkcode KeyExistsError} when it exists. */
  create(key: string, data: string): Promise<void> {
    const token = (++this.#n).toString(36);
    const h = this.#expectNew;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(token, { key, at: Date.now(), resolve, reject });
      try {
        this.#nc.publish(this.#prefix + key, data, { reply: `${this.#inbox}.${token}`, headers: h });
      } catch (e) {
        this.#pending.delete(token);
        reject(e as Error);
      }
    });
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) p.reject(new Error("Cannot store a result as the store closed"));
    this.#pending.clear();
  }

  #reply(m: Msg): void {
    const token = m.subject.slice(this.#inbox.length + 1);
    const p = this.#pending.get(token);
    if (!p) return;
    this.#pending.delete(token);
    if (m.headers?.code === 503) return p.reject(new Error(`Cannot store a result: no JetStream stream for '${this.#prefix}*' (no responders)`));
    let ack: { error?: { err_code?: number; description?: string } };
    try {
      ack = JSON.parse(decoder.decode(m.data));
    } catch {
      return p.reject(new Error("Cannot store a result: the server's reply is not JSON"));
    }
    if (!ack.error) return p.resolve();
    if (ack.error.err_code === WRONG_LAST_SEQUENCE) return p.reject(new KeyExistsError(p.key));
    p.reject(new Error(`Cannot store a result: ${ack.error.description ?? "the server refused it"}`));
  }

  #expire(): void {
    const old = Date.now() - TIMEOUT_MS;
    for (const [token, p] of this.#pending) {
      if (p.at > old) continue;
      this.#pending.delete(token);
      p.reject(new Error(`Cannot store a result: no answer from the server within ${TIMEOUT_MS / 1000} s`));
    }
  }
}
