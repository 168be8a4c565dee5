// The schedules bucket as the firing loop uses it: opened with a timeout, a
// read gives up after that timeout while the server does not answer (frozen
// by SIGSTOP, as a node without a leader leaves a request unanswered), not
// after the connection's 5 s, and answers again once the server is back.
// A real nats-server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { KvScheduleStore } from "../../src/client/buckets/schedule_store.ts";
import type { ScheduleSpec } from "../../src/core/types.ts";
import { useServer } from "../helpers/suite.ts";

const SLOW = { timeout: 60_000 };
const SPEC: ScheduleSpec = { every: 1, cron: null, tz: "UTC", args: [], catchUp: "latest" };
const TICK = Date.parse("2026-12-07T00:00:01.000Z");

describe("KvScheduleStore.open() with a timeout", () => {
  const t = useServer("schedule-store");

  it("a read gives up after the timeout while the server is frozen, and reads the tick once it is thawed", SLOW, async () => {
    const bucket = `qw_s${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}_schedules`;
    const store = await KvScheduleStore.open(t.nc, bucket, { timeoutMs: 1_000 });
    await store.register("ping", 0, SPEC);
    await store.markFired("ping", 0, TICK);
    const pid = t.srv.pid!;
    process.kill(pid, "SIGSTOP");
    let took = 0;
    try {
      const t0 = Date.now();
      await assert.rejects(store.lastTick("ping", 0));
      took = Date.now() - t0;
    } finally {
      process.kill(pid, "SIGCONT");
    }
    assert.ok(took >= 900 && took < 3_000, `the read gave up after ${took} ms, not about 1000`);
    assert.equal(await store.lastTick("ping", 0), TICK);
  });
});
