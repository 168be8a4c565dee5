/**
 * Durable revokes: a KV bucket `qw_<stream>_revoked` with one key per revoked
 * task id (TTL: the result TTL), written by `qw revoke` / `client.revoke()` and
 * watched by every worker, including ones that start later. Unlike Celery's
 * in-memory revokes, a restart forgets nothing.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { keyFor } from "./result_store.ts";

/** One revoke. */
export interface RevokeRecord {
  id: string;
  /** Terminate the job's Web Worker if it is running (otherwise a running job finishes). */
  terminate: boolean;
  /** When it was revoked (ISO 8601). */
  at: string;
}

/** Open (or create) the revoked bucket. */
export async function openRevoked(nc: NatsConnection, bucket: string, ttlSeconds: number): Promise<KV> {
  return await new Kvm(nc).create(bucket, { ttl: ttlSeconds * 1000, history: 1 });
}

/** A revoke as the bucket stores it. Pure. */
export function encodeRevoke(r: RevokeRecord): string {
  return JSON.stringify({ id: r.id, terminate: r.terminate, at: r.at });
}

/** Store a revoke. */
export async function putRevoke(kv: KV, r: RevokeRecord): Promise<void> {
  await kv.put(keyFor(r.id), encodeRevoke(r));
}

/** The revokes known now and every one that comes later, in memory. */
export class RevokedSet {
  #map = new Map<string, RevokeRecord>();
  #stop: (() => void) | null = null;

  /** The revoke of a task id, if any. */
  get(id: string): RevokeRecord | undefined {
    return this.#map.get(id);
  }

  get size(): number {
    return this.#map.size;
  }

  /**
   * Watch the bucket: resolves once every revoke stored so far is known;
   * `onRevoke` is called for each one that arrives after that.
   */
  async watch(kv: KV, onRevoke: (r: RevokeRecord) => void): Promise<void> {
    const pending = (await kv.status()).values;
    const it = await kv.watch();
    this.#stop = () => it.stop();
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    if (pending === 0) caughtUp();
    void (async () => {
      for await (const e of it) {
        if (e.operation !== "PUT") continue;
        let r: RevokeRecord;
        try {
          r = e.json<RevokeRecord>();
        } catch {
          continue;
        }
        const fresh = !this.#map.has(r.id);
        this.#map.set(r.id, r);
        if (e.delta === 0) caughtUp();
        if (fresh) onRevoke(r);
      }
    })();
    await ready;
  }

  stop(): void {
    this.#stop?.();
  }
}
