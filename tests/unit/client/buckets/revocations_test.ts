// The revoked set's catch-up counts every entry of the bucket, whatever its
// operation or content, so a bucket whose last entry is an un-revoke (a delete)
// or not JSON never hangs a worker's start; deletes and expired entries shrink it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KV } from "@nats-io/kv";
import { CATCH_UP_IDLE_MS, type RevokeRecord, RevokedSet, revokeEntry } from "../../../../src/client/buckets/revocations.ts";

interface FakeEntry {
  key: string;
  operation: "PUT" | "DEL" | "PURGE";
  value?: string;
  /** Epoch ms; 0 by default. */
  at?: number;
}

/** A KV whose watch yields `initial` (the catch-up) and then whatever `push` adds, until stopped. */
function fakeKv(initial: FakeEntry[], ttlMs = 0, counted = initial.length) {
  const queue: FakeEntry[] = [];
  let wake: () => void = () => {};
  let stopped = false;
  const entry = (e: FakeEntry, delta: number) => ({
    key: e.key,
    operation: e.operation,
    delta,
    created: new Date(e.at ?? 0),
    value: new TextEncoder().encode(e.value ?? ""),
    string: () => e.value ?? "",
    json: () => JSON.parse(e.value ?? ""),
  });
  const kv = {
    status: () => Promise.resolve({ values: counted, ttl: ttlMs }),
    watch: () => {
      async function* gen() {
        for (const [i, e] of initial.entries()) yield entry(e, counted - 1 - i);
        while (!stopped) {
          const e = queue.shift();
          if (e) yield entry(e, 0);
          else await new Promise<void>((r) => (wake = r));
        }
      }
      return Promise.resolve(Object.assign(gen(), { stop: () => ((stopped = true), wake()) }));
    },
  } as unknown as KV;
  return { kv, push: (e: FakeEntry) => (queue.push(e), wake()) };
}

const rec = (id: string, terminate = false): string => JSON.stringify({ id, terminate, at: "2026-01-01T00:00:00Z" });

/** Resolves with the watch, or rejects when it does not catch up within `ms`. */
function within<T>(p: Promise<T>, ms = 1000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not caught up within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("RevokedSet.watch()", () => {
  it("catches up when the bucket's last entry is a delete (an un-revoke)", async () => {
    const { kv } = fakeKv([{ key: "a", operation: "PUT", value: rec("a") }, { key: "b", operation: "PUT", value: rec("b") }, { key: "b", operation: "DEL" }]);
    const set = new RevokedSet();
    await within(set.watch(kv, () => {}));
    assert.equal(set.get("a")?.id, "a");
    assert.equal(set.get("b"), undefined, "un-revoked");
    assert.equal(set.size, 1);
    set.stop();
  });

  it("catches up when the last entry is not JSON, and reports it", async () => {
    const { kv } = fakeKv([{ key: "a", operation: "PUT", value: rec("a") }, { key: "x", operation: "PUT", value: "not json" }]);
    const set = new RevokedSet();
    const bad: string[] = [];
    await within(set.watch(kv, () => {}, { onInvalid: (key, why) => bad.push(`${key}: ${why}`) }));
    assert.equal(set.size, 1);
    assert.equal(bad.length, 1);
    assert.match(bad[0], /^x: /);
    set.stop();
  });

  it("catches up when every entry is a delete or a purge", async () => {
    const { kv } = fakeKv([{ key: "a", operation: "DEL" }, { key: "b", operation: "PURGE" }]);
    const set = new RevokedSet();
    await within(set.watch(kv, () => {}));
    assert.equal(set.size, 0);
    set.stop();
  });

  it("forgets a revoke deleted after the catch-up, and calls onRevoke only for new revokes", async () => {
    const { kv, push } = fakeKv([{ key: "a", operation: "PUT", value: rec("a") }]);
    const set = new RevokedSet();
    const seen: RevokeRecord[] = [];
    await within(set.watch(kv, (r) => seen.push(r)));
    push({ key: "b", operation: "PUT", value: rec("b", true) });
    await tick();
    assert.equal(set.get("b")?.terminate, true);
    push({ key: "a", operation: "DEL" });
    await tick();
    assert.equal(set.get("a"), undefined);
    assert.deepEqual(seen.map((r) => r.id), ["a", "b"]);
    set.stop();
  });

  it("catches up after a silence when entries counted at the start expired (per-key TTL) before they were delivered", async () => {
    // Three entries counted, one delivered with delta 2: the other two vanished, so no delta 0 ever comes.
    const { kv, push } = fakeKv([{ key: "a", operation: "PUT", value: rec("a") }], 0, 3);
    const set = new RevokedSet();
    const started = Date.now();
    await within(set.watch(kv, () => {}), CATCH_UP_IDLE_MS + 1000);
    assert.ok(Date.now() - started >= CATCH_UP_IDLE_MS - 50, "not before the silence");
    assert.equal(set.get("a")?.id, "a");
    push({ key: "a", operation: "PURGE" });
    await tick();
    assert.equal(set.get("a"), undefined, "a TTL's delete marker (PURGE) un-revokes");
    set.stop();
  });

  it("forgets revokes older than the bucket's TTL", async () => {
    let now = 10_000;
    const { kv } = fakeKv([{ key: "old", operation: "PUT", value: rec("old"), at: 1_000 }, { key: "new", operation: "PUT", value: rec("new"), at: 9_000 }], 5_000);
    const set = new RevokedSet({ now: () => now });
    await within(set.watch(kv, () => {}));
    assert.equal(set.get("old"), undefined, "expired on the server too");
    assert.equal(set.get("new")?.id, "new");
    now = 20_000;
    assert.equal(set.get("new"), undefined);
    assert.equal(set.size, 0);
    set.stop();
  });
});

describe("revokeEntry()", () => {
  it("reads a revoke, an un-revoke and a bad value", () => {
    assert.deepEqual(revokeEntry({ key: "a", operation: "PUT", string: () => rec("a") }), { kind: "revoke", key: "a", record: { id: "a", terminate: false, at: "2026-01-01T00:00:00Z" } });
    assert.deepEqual(revokeEntry({ key: "a", operation: "DEL", string: () => "" }), { kind: "unrevoke", key: "a" });
    assert.deepEqual(revokeEntry({ key: "a", operation: "PURGE", string: () => "" }), { kind: "unrevoke", key: "a" });
    assert.equal(revokeEntry({ key: "a", operation: "PUT", string: () => "{" }).kind, "invalid");
    assert.equal(revokeEntry({ key: "a", operation: "PUT", string: () => "[1]" }).kind, "invalid");
    assert.equal(revokeEntry({ key: "a", operation: "PUT", string: () => '{"id":3}' }).kind, "invalid");
  });
});
