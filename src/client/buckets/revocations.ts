/**
 * Durable revokes: a KV bucket `qw_<stream>_revoked` with one key per revoked
 * task id (TTL: the result TTL), written by `qw revoke` / `client.revoke()` and
 * watched by every worker, including ones that start later. Unlike Celery's
 * in-memory revokes, a restart forgets nothing. Deleting a key (`nats kv del`)
 * un-revokes the job.
 *
 * On nats-server 2.11+ (per-key TTL, ADR-48) the bucket is created with
 * `allow_msg_ttl` and delete markers, and each revoke carries its own TTL
 * (core/job/revoke_ttl.ts): the server removes it once it can no longer
 * matter and leaves a marker that every watching worker reads as a delete.
 * An existing bucket without the flag keeps entries until its max age.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { REVOKE_MARKER_TTL, revokeTtl, ttlHeader } from "../../core/job/revoke_ttl.ts";
import { serverFeatures } from "../../core/server_features.ts";
import { readKvObject } from "../../core/kv_record.ts";
import { keyFor } from "./result_store.ts";

/** One revoke. */
export interface RevokeRecord {
  id: string;
  /** Terminate the job's Web Worker if it is running (otherwise a running job finishes). */
  terminate: boolean;
  /** When it was revoked (ISO 8601). */
  at: string;
}

/** Open (or create) the revoked bucket; on 2.11+ a new one lets each key expire by itself (markers kept {@linkcode REVOKE_MARKER_TTL} s). */
export async function openRevoked(nc: NatsConnection, bucket: string, ttlSeconds: number): Promise<KV> {
  const markers = serverFeatures(nc.info?.version).kvKeyTtl ? { markerTTL: REVOKE_MARKER_TTL * 1000 } : {};
  return await new Kvm(nc).create(bucket, { ttl: ttlSeconds * 1000, history: 1, ...markers });
}

/**
 * The TTL in seconds to store a revoke with: null when the server (before 2.11)
 * or the bucket (created without `allow_msg_ttl`) cannot expire single keys.
 */
export async function revokeTtlFor(
  jsm: JetStreamManager,
  kv: KV,
  o: { stream: string; requested?: number; resultTtl: number },
): Promise<number | null> {
  const version = (jsm as { nc?: NatsConnection }).nc?.info?.version;
  if (!serverFeatures(version).kvKeyTtl) return null;
  const bucket = (await kv.status()).streamInfo.config;
  if (bucket.allow_msg_ttl !== true) return null;
  const streamMaxAge = ((await jsm.streams.info(o.stream)).config.max_age ?? 0) / 1e9;
  return revokeTtl({ requested: o.requested, streamMaxAge, resultTtl: o.resultTtl, bucketMaxAge: (bucket.max_age ?? 0) / 1e9 });
}

/** A revoke as the bucket stores it. Pure. */
export function encodeRevoke(r: RevokeRecord): string {
  return JSON.stringify({ id: r.id, terminate: r.terminate, at: r.at });
}

/** Store a revoke; with `ttl` (seconds, from {@linkcode revokeTtlFor}) the server removes it then. */
export async function putRevoke(kv: KV, r: RevokeRecord, o: { jsm?: JetStreamManager; ttl?: number | null } = {}): Promise<void> {
  if (!o.ttl || !o.jsm) return void await kv.put(keyFor(r.id), encodeRevoke(r));
  // kv.put() has no TTL: the same write as a publish on the key's subject, with `Nats-TTL`.
  const bucket = (await kv.status()).bucket;
  await o.jsm.jetstream().publish(`$KV.${bucket}.${keyFor(r.id)}`, encodeRevoke(r), { ttl: ttlHeader(o.ttl) });
}

/** What one entry of the bucket says. */
export type RevokeEntry =
  | { kind: "revoke"; key: string; record: RevokeRecord }
  | { kind: "unrevoke"; key: string }
  | { kind: "invalid"; key: string; reason: string };

/** Read one entry of the bucket: a revoke, an un-revoke (a delete or purge), or a value that is not a revoke. Pure. */
export function revokeEntry(e: { key: string; operation: string; string(): string }): RevokeEntry {
  const o = readKvObject(e);
  if (o.kind === "removed") return { kind: "unrevoke", key: e.key };
  if (o.kind === "not_json") return { kind: "invalid", key: e.key, reason: o.reason };
  const r = o.kind === "object" ? o.value as Partial<RevokeRecord> : null;
  if (r === null || typeof r.id !== "string" || r.id === "") {
    return { kind: "invalid", key: e.key, reason: `not a revoke (no 'id'): ${JSON.stringify(o.text.slice(0, 40))}` };
  }
  return { kind: "revoke", key: e.key, record: { id: r.id, terminate: r.terminate === true, at: String(r.at ?? "") } };
}

/** How long a catch-up of the bucket waits after the last entry it read before it counts as done. */
export const CATCH_UP_IDLE_MS = 2_000;

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
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    // Entries counted by status() may expire (per-key TTL, max age) before they are delivered, so the
    // last one (delta 0) may never come: the server sends what is stored at once, a silence means all is read.
    let idle: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const caughtUp = () => {
      done = true;
      clearTimeout(idle);
      resolve();
    };
    const waitIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(caughtUp, CATCH_UP_IDLE_MS);
    };
    if (status.values === 0) caughtUp();
    else waitIdle();
    void (async () => {
      for await (const e of it) {
        if (!done) waitIdle();
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
