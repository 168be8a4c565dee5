/**
 * Debounce held by qw (a server before 2.12, or a stream without
 * `allow_msg_schedules`): every debounced enqueue records its job id as the
 * latest of its key in `qw_<stream>_debounce` before it publishes, and when a
 * debounced job is due the releaser asks here whether a newer one replaced
 * it. A superseded job is not released: it is stored REVOKED with reason
 * `superseded` (core/job/unique.ts `isSuperseded`).
 *
 * @module
 */

import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { Header } from "../../client/producer.ts";
import { openBucket } from "../../client/buckets/buckets.ts";
import type { ResultStore } from "../../client/buckets/result_store.ts";
import type { Emitter } from "../../core/events.ts";
import { debounceBucket, isSuperseded, uniqueKvKey } from "../../core/job/unique.ts";
import { resultRecord } from "../settle/_outcome.ts";

/** The reason stored with a debounced job a newer one replaced. */
export const SUPERSEDED = "superseded";

/**
 * A check for the delayed releaser: resolves true when the debounced job `id`
 * of `task` (message `m`) was replaced by a newer one, after recording it
 * REVOKED; false for any other job, and when no record says so.
 */
export function debounceCheck(
  o: { jsm: JetStreamManager; stream: string; store: ResultStore | null; emitter: Emitter; workerName: string },
): (m: JsMsg, task: string, id: string) => Promise<boolean> {
  let bucket: Promise<KV | null> | null = null;
  return async (m, task, id) => {
    const key = m.headers?.get(Header.unique) ?? "";
    if (key === "" || (m.headers?.get(Header.debounce) ?? "") === "") return false;
    bucket ??= openBucket(o.jsm, debounceBucket(o.stream)).catch(() => null);
    const kv = await bucket;
    if (kv === null) {
      bucket = null;
      return false;
    }
    const e = await kv.get(uniqueKvKey(task, key));
    if (!isSuperseded(id, e?.operation === "PUT" ? e.string() : null)) return false;
    const job = { id, task, retries: 0, deliveryCount: 0, seq: m.seq };
    await o.store?.write(resultRecord(job, o.workerName, Date.now(), "REVOKED", { reason: SUPERSEDED }));
    o.emitter.emit({ type: "job.revoked", reason: `superseded by a newer enqueue with unique key '${key}' (debounce)`, ...job });
    return true;
  };
}
