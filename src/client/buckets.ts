/**
 * Opening a KV bucket that a worker creates (results, workers, schedules) from
 * a reader that must not create it: the bucket, or null while none exists.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { errorText } from "./connection.ts";

/** The bucket if it exists; null when no worker created it yet. Never creates one. */
export async function openBucket(jsm: JetStreamManager, bucket: string): Promise<KV | null> {
  try {
    await jsm.streams.info(`KV_${bucket}`);
  } catch (e) {
    if (/not found/i.test(errorText(e))) return null;
    throw e;
  }
  return await new Kvm(jsm.jetstream()).open(bucket);
}
