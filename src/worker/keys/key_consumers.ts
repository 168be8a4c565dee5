/**
 * One durable pull consumer per concurrency key, created on first use:
 * filtered to the key's subject, `max_ack_pending` = the task's limit (the
 * server holds the limit across every process, and frees the slot of a dead
 * process's job when its ack wait runs out), the work consumer's ack wait,
 * and on 2.12+ an inactive threshold, so a key nobody pulls for a while loses
 * its consumer (the server keeps it while a job of it is unacked; before 2.12
 * it would not, and a running job's ack would find no consumer). A key's
 * filter never overlaps another consumer's, as a work-queue stream requires.
 *
 * @module
 */

import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { keyConsumerName, keyLimit, parseKeySubject } from "../../core/job/concurrency_key.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import { createRaced } from "../../client/topology.ts";
import { serverFeatures } from "../../core/server_features.ts";
import { isConsumerNotFound } from "../../client/server_errors.ts";

/** How long a key's consumer lives with no pull (ms). */
export const KEY_INACTIVE_MS = 5 * 60_000;

/** What the consumers need. */
export interface KeyConsumersOptions {
  jsm: JetStreamManager;
  stream: string;
  /** The work consumer's name: key consumers are named after it. */
  consumer: string;
  ackWaitMs: number;
  tasks: () => Record<string, ResolvedTaskOptions>;
  /** The server's version: an inactive threshold only where it spares a consumer whose jobs run (2.12+). */
  serverVersion: string | undefined;
}

/** Ensures key consumers exist with the right limit; remembers those it made. */
export class KeyConsumers {
  #o: KeyConsumersOptions;
  #made = new Map<string, Promise<string>>();

  constructor(options: KeyConsumersOptions) {
    this.#o = options;
  }

  /** The name of the consumer of key subject `subject`, created or brought to its task's limit first. */
  ensure(subject: string): Promise<string> {
    let p = this.#made.get(subject);
    if (!p) {
      p = this.#create(subject);
      this.#made.set(subject, p);
      p.catch(() => this.#made.delete(subject));
    }
    return p;
  }

  /** The consumer of `subject` is gone (its inactive threshold passed): make it again on next use. */
  forget(subject: string): void {
    this.#made.delete(subject);
  }

  async #create(subject: string): Promise<string> {
    const { jsm, stream } = this.#o;
    const key = parseKeySubject(stream, subject);
    if (!key) throw new Error(`Subject '${subject}' is not a key subject of stream '${stream}'`);
    const name = keyConsumerName(this.#o.consumer, key.task, key.token);
    const limit = keyLimit(this.#o.tasks()[key.task]);
    const cfg = {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.#o.ackWaitMs),
      max_ack_pending: limit,
      // qw guards deliveries itself (the loop breaker counts runs), as on the work consumer.
      max_deliver: -1,
      ...(serverFeatures(this.#o.serverVersion).inactiveKeepsPending ? { inactive_threshold: nanos(KEY_INACTIVE_MS) } : {}),
    };
    try {
      const info = await jsm.consumers.info(stream, name);
      if (info.config.max_ack_pending !== limit || info.config.ack_wait !== cfg.ack_wait) {
        await jsm.consumers.update(stream, name, { max_ack_pending: limit, ack_wait: cfg.ack_wait });
      }
      return name;
    } catch (e) {
      if (!isConsumerNotFound(e)) throw e;
    }
    try {
      await jsm.consumers.add(stream, cfg);
    } catch (e) {
      // Another process created it a moment ago.
      if (!createRaced((e as Error).message)) throw e;
    }
    return name;
  }
}
