/**
 * Releases delayed jobs (countdown, eta, retries) when their time comes.
 *
 * A delayed job waits on `<stream>._delayed.<task>`, where no task runs. The
 * releaser pulls it, and while its eta is ahead, naks it with that delay:
 * the server holds it, not qw's memory. When the eta passes it is published
 * to `<stream>.<task>` (dedup id: the attempt's) and only then acked, so a
 * crash in between releases it twice at worst, and the dedup window drops
 * the second. The job's delivery count starts from 1 again on release, so a
 * retry's wait never counts as a redelivery.
 *
 * @module
 */

import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as makeHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { errorText } from "../../client/connection.ts";
import { Puller } from "../intake/consumer.ts";
import type { Emitter } from "../../core/events.ts";
import { Header, isBatchHeader } from "../../client/producer.ts";
import { DEFAULT_PRIORITY, isPriority } from "../../core/job/priority.ts";
import { jobSubject } from "../../client/topology.ts";
import { messageTtlSeconds, parseExpiresHeader, releaseAt } from "../../core/job/expiry.ts";

const IN_FLIGHT = 512;
// Releasing a few ms early is fine; naking for less than that wastes a round trip.
const EARLY_MS = 5;

/**
 * The task id of a delayed job, as the wire format gives it: `Qw-Id`, else
 * `Nats-Msg-Id`, else `<stream>:<sequence>` of the delayed message. qw's own
 * producer always sets `Qw-Id`; other clients may set only the dedup id. Pure.
 */
export function delayedJobId(headers: { get(k: string): string } | undefined, stream: string, seq: number): string {
  return headers?.get(Header.id) || headers?.get(Header.msgId) || `${stream}:${seq}`;
}

/**
 * What a delayed message is released as: the same body and headers but its
 * eta and dedup id, on the task's subject, with its task id in `Qw-Id` (the
 * released copy has a dedup id of its own, so it must carry the task id). The
 * dedup id derives from the delayed message's own: unique per delayed copy,
 * the same if this release is repeated after a crash. A server TTL
 * (`Nats-TTL`) of an expiring job is counted again from `now`. Pure.
 */
export function releaseOf(
  stream: string,
  m: { subject: string; headers?: MsgHdrs; seq: number },
  now = 0,
): { subject: string; msgId: string; id: string; headers: [string, string][] } {
  const task = m.subject.slice(`${stream}._delayed.`.length);
  const id = delayedJobId(m.headers, stream, m.seq);
  const headers: [string, string][] = [];
  const expiresAt = parseExpiresHeader(m.headers?.get(Header.expires) || null).at;
  if (m.headers) {
    for (const [k, vs] of m.headers) {
      if (k === Header.ttl && expiresAt !== null) headers.push([k, String(messageTtlSeconds(expiresAt, now))]);
      else if (k !== Header.eta && k !== Header.msgId && k !== Header.id && !isBatchHeader(k)) for (const v of vs) headers.push([k, v]);
    }
  }
  headers.push([Header.id, id]);
  const msgId = `${m.headers?.get(Header.msgId) || `${stream}:${m.seq}`}:go`;
  const p = Number(m.headers?.get(Header.priority) || DEFAULT_PRIORITY);
  return { subject: jobSubject(stream, task, isPriority(p) ? p : DEFAULT_PRIORITY), msgId, id, headers };
}

/** Pulls delayed jobs and releases them at their eta. */
export class DelayedRelease {
  #puller: Puller;
  #inFlight = 0;
  #waiters: Array<() => void> = [];

  constructor(
    private readonly o: {
      nc: NatsConnection;
      /** The durable name of the delayed jobs' pull consumer. */
      consumer: string;
      js: JetStreamClient;
      stream: string;
      emitter: Emitter;
      /** True for a revoked task id: such a job is released at once, for the worker to mark REVOKED without running it. */
      revoked?: (id: string) => boolean;
      /** Milliseconds to keep a due job of `task` on the server (its task is paused, see worker/pause/park.ts); 0 releases it. */
      hold?: (task: string, now: number) => number;
      /** True when a debounced job was replaced by a newer one (recorded REVOKED): acked, not released. */
      superseded?: (m: JsMsg, task: string, id: string) => Promise<boolean>;
      now?: () => number;
    },
  ) {
    this.#puller = new Puller({
      nc: o.nc,
      stream: o.stream,
      consumer: o.consumer,
      room: () => IN_FLIGHT - this.#inFlight,
      whenRoom: () => new Promise((r) => this.#waiters.push(r)),
      onMessage: (m) => this.#onMessage(m),
      onError: (error, transient) =>
        o.emitter.emit(transient ? { type: "connection.status", status: "pull_retry", detail: `delayed release: ${error}` } : { type: "error", where: "delayed_release", error }),
    });
  }

  start(): void {
    this.#puller.start();
  }

  /** Stop pulling; see {@linkcode Puller.stop}. */
  stop(o: { waitForPulls?: boolean } = {}): Promise<void> {
    return this.#puller.stop(o);
  }

  #onMessage(m: JsMsg): void {
    const now = (this.o.now ?? Date.now)();
    const eta = Number(m.headers?.get(Header.eta) ?? 0);
    const revoked = this.o.revoked?.(delayedJobId(m.headers, this.o.stream, m.seq)) ?? false;
    // Released at its expiry when that comes first, for the worker to store it REVOKED (expired) then.
    const due = releaseAt(Number.isFinite(eta) ? eta : 0, parseExpiresHeader(m.headers?.get(Header.expires) || null).at) ?? 0;
    if (!revoked && due - now > EARLY_MS) {
      m.nak(due - now);
      return;
    }
    const hold = revoked ? 0 : this.o.hold?.(m.subject.slice(`${this.o.stream}._delayed.`.length), now) ?? 0;
    if (hold > 0) {
      m.nak(hold);
      return;
    }
    this.#inFlight++;
    void this.#release(m).finally(() => {
      this.#inFlight--;
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    });
  }

  async #release(m: JsMsg): Promise<void> {
    const r = releaseOf(this.o.stream, m, (this.o.now ?? Date.now)());
    const h = makeHeaders();
    for (const [k, v] of r.headers) h.append(k, v);
    const id = r.id;
    try {
      if (!(await this.o.superseded?.(m, r.subject.slice(this.o.stream.length + 1), id))) {
        await this.o.js.publish(r.subject, m.data, { msgID: r.msgId, headers: h });
      }
      m.ack();
    } catch (e) {
      this.o.emitter.emit({ type: "error", where: "delayed_release", error: `Cannot release delayed job '${id}': ${errorText(e)}` });
      m.nak(1000);
    }
  }
}
