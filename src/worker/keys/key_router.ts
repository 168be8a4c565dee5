/**
 * Jobs with a concurrency key that arrive on their task's subject (a producer
 * that set only the header, a delayed job released, a retry after its
 * countdown, a task with `concurrency`) go to their key's subject
 * (`<stream>._key.<task>.<key token>`) before anything else: a copy with the
 * same id, headers and runs before it (`Qw-Runs`, as a hand-back's) is stored,
 * then the original is acked. Its dedup id (`<id>…:key:<seq>`) makes a copy
 * published again after a crash a duplicate the stream drops.
 *
 * @module
 */

import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { concurrencyKeyOf, invalidKey, keySubject } from "../../core/job/concurrency_key.ts";
import type { Emitter, JobFields } from "../../core/events.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import { encodeJob, Header } from "../../client/producer.ts";
import { errorText } from "../../client/connection.ts";
import { type Delivery, storedAtMs } from "../intake/delivery.ts";
import { jobExpiry } from "../../core/job/expiry.ts";
import { safely } from "../intake/broker.ts";
import { isCarried } from "../settle/job_sink.ts";

/** What routing needs. */
export interface KeyRouterOptions {
  js: JetStreamClient;
  stream: string;
  tasks: () => Record<string, ResolvedTaskOptions>;
  emitter: Emitter;
  /** Dead-letter and term a message that cannot run (a bad key). */
  invalid(msg: JsMsg, job: JobFields, reason: string): void;
  /** A job was routed to key subject `subject`. */
  routed(subject: string): void;
  /** The key a task's `concurrency.key` gives a job body (key_functions.ts). */
  computeKey(task: string, data: Uint8Array): Promise<string>;
}

/** Sends keyed jobs from their task's subject to their key's. */
export class KeyRouter {
  #o: KeyRouterOptions;
  #prefix: string;

  constructor(options: KeyRouterOptions) {
    this.#o = options;
    this.#prefix = options.stream + ".";
  }

  /**
   * True when `msg` is a keyed job on its task's subject, now being routed (the caller leaves it alone). `d` is
   * its delivery, read once by the caller (`readDelivery()`) and handed on to the dispatcher as well.
   */
  route(msg: JsMsg, d: Delivery): boolean {
    if (msg.subject.startsWith(this.#prefix + "_")) return false; // a key subject, a flow's start
    if (d.invalid !== null) return false;
    const policy = this.#o.tasks()[d.task];
    if (!policy) return false;
    const header = d.hdr.concurrencyKey;
    const job = { id: d.id, task: d.task, retries: d.retries, deliveryCount: d.deliveryCount, seq: d.seq };
    if ((header === null || header === "") && policy.concurrency?.keyed) {
      // Its task computes its key: in a Web Worker, so the job is routed when the key comes back.
      this.#o.computeKey(d.task, msg.data).then(
        (computed) => this.#send(msg, d, policy, concurrencyKeyOf(null, policy, computed)!, job),
        (e) =>
          (e as { closing?: boolean }).closing
            // Shutdown: not the job's fault; it comes back (a nak before it ran).
            ? safely(this.#o.emitter, "nak", () => msg.nak())
            : this.#o.invalid(msg, job, `Cannot compute the concurrency key of '${d.id}': ${errorText(e)}`),
      );
      return true;
    }
    const key = concurrencyKeyOf(header, policy);
    if (key === null) return false;
    return this.#send(msg, d, policy, key, job);
  }

  #send(msg: JsMsg, d: Delivery, policy: ResolvedTaskOptions, key: string, job: JobFields): true {
    const { stream } = this.#o;
    const bad = invalidKey(key);
    if (bad !== null) {
      this.#o.invalid(msg, job, bad);
      return true;
    }
    const carried: Record<string, string> = {};
    if (msg.headers) for (const [k, vs] of msg.headers) if (isCarried(k, false)) carried[k] = vs[0];
    if (d.runsBefore > 0) carried[Header.runs] = String(d.runsBefore);
    // A task's own `expires` counts from when the original was stored, not its copy.
    const expiresAt = d.expiresAt ?? (policy.expires !== null ? jobExpiry(null, policy.expires, storedAtMs(msg)) : null);
    const m = encodeJob(stream, {
      task: d.task, data: msg.data, id: d.id, retries: d.retries, etaMs: null, headers: carried, dedupSuffix: `key:${d.seq}`, expiresAt,
    }, 0);
    const subject = keySubject(stream, d.task, key);
    const h = makeHeaders();
    for (const [k, v] of m.headers) h.set(k, v);
    this.#o.js.publish(subject, m.data, { msgID: m.msgId, headers: h }).then(
      () => {
        safely(this.#o.emitter, "ack", () => msg.ack());
        this.#o.routed(subject);
      },
      (e) => {
        this.#o.emitter.emit({ type: "error", where: "concurrency_key", error: `Cannot route '${d.id}' to its key subject '${subject}': ${errorText(e)}` });
        safely(this.#o.emitter, "nak", () => msg.nak(1_000));
      },
    );
    return true;
  }
}
