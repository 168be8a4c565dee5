/**
 * Durable revokes: a KV bucket `qw_<stream>_revoked` with one key per revoked
 * task id (TTL: the result TTL), written by `qw revoke` / `client.revoke()` and
 * watched by every worker, including ones that start later. Unlike Celery's
 * in-memory revokes, a restart forgets nothing. Deleting a key (`nats kv del`)
 * un-revokes the job.
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

/** What one entry of the bucket says. */
export type RevokeEntry =
  | { kind: "revoke"; key: string; record: RevokeRecord }
  | { kind: "unrevoke"; key: string }
  | { kind: "invalid"; key: string; reason: string };

/** Read one entry of the bucket: a revoke, an un-revoke (a delete or purge), or a value that is not a revoke. Pure. */
export function revokeEntry(e: { key: string; operation: string; string(): string }): RevokeEntry {
  if (e.operation !== "PUT") return { kind: "unrevoke", key: e.key };
  const text = e.string();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: "invalid", key: e.key, reason: `not JSON: ${JSON.stringify(text.slice(0, 40))}` };
  }
  const r = v as Partial<RevokeRecord> | null;
  if (r === null || typeof r !== "object" || Array.isArray(r) || typeof r.id !== "string" || r.id === "") {
    return { kind: "invalid", key: e.key, reason: `not a revoke (no 'id'): ${JSON.stringify(text.slice(0, 40))}` };
  }
  return { kind: "revoke", key: e.key, record: { id: r.id, terminate: r.terminate === true, at: String(r.at ?? "") } };
}

/** Options of {@linkcode RevokedSet.watch}. */
export interface WatchOptions {
  /** A value in the bucket that is not a revoke: ignored, and reported here. */
  onInvalid?: (key: string, reason: string) => void;
}

/**
 * The revokes known now and every one that comes later, in memory. A revoke
 * deleted from the bucket is forgotten, and one older than the bucket's TTL
 * (gone from the server too) is dropped.
 */
export class RevokedSet {
  #map = new Map<string, { record: RevokeRecord; created: number }>();
  #stop: (() => void) | null = null;
  #ttlMs = 0;
  #sweptAt = 0;
  readonly #now: () => number;

  constructor(o: { now?: () => number } = {}) {
    this.#now = o.now ?? Date.now;
  }

  /** The revoke of a task id, if any. */
  get(id: string): RevokeRecord | undefined {
    this.#sweep();
    const key = keyFor(id);
    const e = this.#map.get(key);
    if (e && this.#expired(e.created)) {
      this.#map.delete(key);
      return undefined;
    }
    return e?.record;
  }

  get size(): number {
    this.#sweep(true);
    return this.#map.size;
  }

  /**
   * Watch the bucket: resolves once every entry stored so far is read (a
   * revoke, an un-revoke or a bad value alike); `onRevoke` is called for each
   * revoke not known before.
   */
  async watch(kv: KV, onRevoke: (r: RevokeRecord) => void, o: WatchOptions = {}): Promise<void> {
    const status = await kv.status();
    this.#ttlMs = status.ttl;
    const it = await kv.watch();
    this.#stop = () => it.stop();
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    if (status.values === 0) caughtUp();
    void (async () => {
      for await (const e of it) {
        const created = e.created.getTime();
        const entry = revokeEntry(e);
        if (entry.kind === "unrevoke" || (entry.kind === "revoke" && this.#expired(created))) this.#map.delete(entry.key);
        else if (entry.kind === "invalid") o.onInvalid?.(entry.key, entry.reason);
        else {
          const fresh = !this.#map.has(entry.key);
          this.#map.set(entry.key, { record: entry.record, created });
          if (fresh) onRevoke(entry.record);
        }
        if (e.delta === 0) caughtUp();
      }
    })();
    await ready;
  }

  stop(): void {
    this.#stop?.();
  }

  #expired(created: number): boolean {
    return this.#ttlMs > 0 && this.#now() - created > this.#ttlMs;
  }

  /** Drop expired revokes, at most once per tenth of the TTL (or now when `force`). */
  #sweep(force = false): void {
    if (this.#ttlMs <= 0) return;
    const now = this.#now();
    if (!force && now - this.#sweptAt < this.#ttlMs / 10) return;
    this.#sweptAt = now;
    for (const [key, e] of this.#map) if (this.#expired(e.created)) this.#map.delete(key);
  }
}
