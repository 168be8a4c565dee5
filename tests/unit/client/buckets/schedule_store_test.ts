/**
 * The schedules bucket's rules, without NATS: a spec write keeps the last
 * tick, and the last tick only moves forward.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryScheduleStore, scheduleKey, withSpec, withTick } from "../../../../src/client/buckets/schedule_store.ts";
import type { ScheduleSpec } from "../../../../src/core/types.ts";

const every30: ScheduleSpec = { every: 30, cron: null, tz: "UTC", args: ["eu"], catchUp: "latest" };
const T = Date.parse("2026-11-30T03:27:30.000Z");

describe("schedule records", () => {
  it("scheduleKey() is <task>.<index>, escaped as a KV key", () => {
    assert.equal(scheduleKey("ping", 0), "ping.0");
    assert.equal(scheduleKey("$job", 2), "=24job.2");
  });

  it("withSpec() writes a new spec and keeps the last tick; nothing when unchanged", () => {
    const first = withSpec(null, "ping", 0, every30)!;
    assert.deepEqual(first, { task: "ping", index: 0, every: 30, cron: null, tz: "UTC", args: ["eu"], catchUp: "latest", lastTick: null });
    const fired = withTick(first, "ping", 0, T)!;
    assert.equal(withSpec(fired, "ping", 0, every30), null);
    assert.deepEqual(withSpec(fired, "ping", 0, { ...every30, every: 60 }), { ...fired, every: 60 });
  });

  it("withTick() only moves forward", () => {
    const fired = withTick(null, "ping", 0, T)!;
    assert.equal(fired.lastTick, "2026-11-30T03:27:30.000Z");
    assert.equal(withTick(fired, "ping", 0, T), null, "the same tick again");
    assert.equal(withTick(fired, "ping", 0, T - 30_000), null, "an older tick");
    assert.equal(withTick(fired, "ping", 0, T + 30_000)!.lastTick, "2026-11-30T03:28:00.000Z");
  });

  it("MemoryScheduleStore follows the same rules", async () => {
    const store = new MemoryScheduleStore();
    await store.register("ping", 0, every30);
    assert.equal(await store.lastTick("ping", 0), null);
    await store.markFired("ping", 0, T + 30_000);
    await store.markFired("ping", 0, T);
    assert.equal(await store.lastTick("ping", 0), T + 30_000);
    assert.equal((await store.register("ping", 0, every30)).lastTick, "2026-11-30T03:28:00.000Z");
    assert.equal((await store.list()).length, 1);
  });
});
