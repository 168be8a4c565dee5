/**
 * The server side of rate limits shared by the processes of a stream: one
 * counter per task (and key) and time window, named by
 * `rateCounterKey()` (core/rate_window.ts), that a claim adds to and whose
 * new total it reads back in the same round trip.
 *
 * - nats-server 2.12+: the stream `qw_<stream>_rate` with `allow_msg_counter`
 *   (ADR-49); a claim publishes `Nats-Incr: +<n>` on `qw_<stream>_rate.<key>`
 *   and the ack carries the new total. One round trip, no conflicts.
 * - Older servers, or a `qw_<stream>_rate` stream without the flag: the KV
 *   bucket `qw_<stream>_rate`, one key per window, updated with
 *   compare-and-set on its revision (create for the first claim of a
 *   window), retried on a conflict.
 *
 * Both keep a window's record 2 hours (`max_age`), one message a subject: the
 * longest window is an hour (a rate of 1/h); nothing else cleans up.
 *
 * @module
 */

import { headers, nanos, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { serverFeatures } from "../../core/server_features.ts";
import { apiCode, isStreamNotFound } from "../server_errors.ts";

/** How long the server keeps a window's count (seconds): twice the longest window. */
export const RATE_RECORD_TTL_S = 2 * 3600;

/** The name of the counter stream and of the KV bucket of a work stream's shared rate limits. */
export const rateStoreName = (stream: string): string => `qw_${stream}_rate`;

/** A window counter on the server. */
export interface RateCounter {
  /** Which primitive counts: the server's counters (2.12+) or a KV record with compare-and-set. */
  readonly kind: "counter" | "kv";
  /** Add `count` to the counter `key` and resolve with its new total; rejects after about `timeoutMs`. */
  claim(key: string, count: number, timeoutMs: number): Promise<number>;
}

/** Open (creating when missing) the counters of `stream`'s shared rate limits, choosing by server version. */
export async function openRateCounter(nc: NatsConnection, stream: string): Promise<RateCounter> {
  const name = rateStoreName(stream);
  if (serverFeatures(nc.info?.version).counters && await counterStream(nc, name)) return serverCounter(nc, name);
  return kvCounter(nc, name);
}

/** True when `name` is (or was just created as) a stream with `allow_msg_counter`. */
async function counterStream(nc: NatsConnection, name: string): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  try {
    return (await jsm.streams.info(name)).config.allow_msg_counter === true;
  } catch (e) {
    if (!isStreamNotFound(e)) throw e;
  }
  try {
    await jsm.streams.add({
      name, subjects: [`${name}.>`], storage: StorageType.File, allow_msg_counter: true, allow_direct: true,
      max_age: nanos(RATE_RECORD_TTL_S * 1000), max_msgs_per_subject: 1,
    });
    return true;
  } catch {
    // Another process created it first (or with other flags): use it as it is.
    return (await jsm.streams.info(name)).config.allow_msg_counter === true;
  }
}

function serverCounter(nc: NatsConnection, name: string): RateCounter {
  return {
    kind: "counter",
    async claim(key, count, timeoutMs) {
      const h = headers();
      h.set("Nats-Incr", `+${count}`);
      const reply = await nc.request(`${name}.${key}`, new Uint8Array(0), { headers: h, timeout: timeoutMs });
      const ack = reply.json<{ val?: string; error?: { code: number; description: string } }>();
      if (ack.error) throw new Error(`Cannot add to rate counter '${name}.${key}': ${ack.error.description}`);
      const total = Number(ack.val);
      if (!Number.isFinite(total)) throw new Error(`Cannot read the total of rate counter '${name}.${key}': got ${JSON.stringify(ack.val)}`);
      return total;
    },
  };
}

// JetStream API codes of a lost compare-and-set: wrong last sequence, or the key exists already.
const CAS_LOST = new Set([10071, 10164]);

function kvCounter(nc: NatsConnection, name: string): RateCounter {
  let kv: KV | null = null;
  const open = async (timeoutMs: number) =>
    kv ??= await new Kvm(jetstream(nc, { timeout: timeoutMs })).create(name, { ttl: RATE_RECORD_TTL_S * 1000, history: 1 });
  return {
    kind: "kv",
    async claim(key, count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const store = await open(timeoutMs);
      // Each lost race means another process claimed meanwhile; read again and retry until the deadline.
      for (let attempt = 0;; attempt++) {
        const e = await store.get(key);
        const before = e && e.operation === "PUT" ? Number(e.string()) || 0 : 0;
        try {
          if (e === null) await store.create(key, String(count));
          else await store.update(key, String(before + count), e.revision);
          return before + count;
        } catch (err) {
          const lost = CAS_LOST.has(apiCode(err) ?? 0) || /wrong last sequence|key exists/i.test(String(err));
          if (!lost || Date.now() > deadline) throw err;
        }
      }
    },
  };
}
