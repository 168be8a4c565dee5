/**
 * Opening a KV bucket that a worker creates (results, workers, schedules) from
 * a reader that must not create it: the bucket, or null while none exists;
 * and listing a bucket's keys without waiting forever.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { isStreamNotFound } from "../server_errors.ts";

/** The bucket if it exists; null when no worker created it yet. Never creates one. */
export async function openBucket(jsm: JetStreamManager, bucket: string): Promise<KV | null> {
  try {
    await jsm.streams.info(`KV_${bucket}`);
  } catch (e) {
    if (isStreamNotFound(e)) return null;
    throw e;
  }
  return await new Kvm(jsm.jetstream()).open(bucket);
}

/** Longest wait for a bucket's list of keys. */
export const LIST_KEYS_TIMEOUT_MS = 5_000;

/**
 * The keys of a bucket. The client's key listing counts the keys when it
 * starts and waits for that many; a key that expires or is deleted meanwhile
 * can leave it waiting forever, so the listing is cut off after `timeoutMs`
 * with the keys read by then.
 */
export async function listKeys(kv: KV, timeoutMs: number = LIST_KEYS_TIMEOUT_MS): Promise<string[]> {
  const out: string[] = [];
  const keys = await kv.keys();
  const cutOff = setTimeout(() => keys.stop(), timeoutMs);
  try {
    for await (const key of keys) out.push(key);
  } finally {
    clearTimeout(cutOff);
  }
  return out;
}
