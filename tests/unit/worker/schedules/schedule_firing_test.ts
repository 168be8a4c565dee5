/**
 * The firing loop without NATS: several processes share an in-memory
 * schedules store and a fake stream that deduplicates by `Nats-Msg-Id`, each
 * with its own injected clock; rounds are driven by hand.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSchedule } from "../../../../src/core/schedule.ts";
import { Emitter, type QwEvent } from "../../../../src/core/events.ts";
import { MemoryScheduleStore } from "../../../../src/client/buckets/schedule_store.ts";
import type { OutgoingJob } from "../../../../src/client/producer.ts";
import { ScheduleFiring } from "../../../../src/worker/schedules/schedule_firing.ts";
import type { ScheduleSpec } from "../../../../src/core/types.ts";

const T0 = Date.parse("2026-11-30T00:00:00.000Z");
const spec = (s: Partial<ScheduleSpec>): ScheduleSpec => ({ every: null, cron: null, tz: "UTC", args: [], catchUp: "latest", ...s });

/** A stream that keeps one message per id, as JetStream's duplicate window does. */
class FakeStream {
  readonly jobs: OutgoingJob[] = [];
  #window = new Set<string>();
  failNext = 0;
  publish(job: OutgoingJob): Promise<{ duplicate: boolean }> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error("timeout"));
    }
    const duplicate = this.#window.has(job.id);
    if (!duplicate) this.jobs.push(job);
    this.#window.add(job.id);
    return Promise.resolve({ duplicate });
  }
  /** The duplicate window passed: ids seen before are forgotten. */
  forget(): void {
    this.#window.clear();
  }
  ids(): string[] {
    return this.jobs.map((j) => j.id);
  }
}

function process(stream: FakeStream, store: MemoryScheduleStore, clock: { now: number }, specs: ScheduleSpec[]) {
  const events: QwEvent[] = [];
  const emitter = new Emitter();
  emitter.on((e) => events.push(e));
  const schedules = specs.map((s, i) => parseSchedule("ping", i, s, T0));
  const firing = new ScheduleFiring({ schedules, store, publish: (j) => stream.publish(j), emitter, now: () => clock.now });
  return { firing, events };
}

describe("ScheduleFiring", () => {
  it("three processes firing every second publish one job per tick, named by its tick", async () => {
    const stream = new FakeStream();
    const store = new MemoryScheduleStore();
    const clocks = [{ now: T0 + 300 }, { now: T0 + 300 }, { now: T0 + 300 }];
    const procs = clocks.map((c) => process(stream, store, c, [spec({ every: 1, args: ["eu"] })]));
    for (const p of procs) await p.firing.round(); // start: never fired, nothing to catch up
    assert.deepEqual(stream.ids(), []);
    for (let k = 1; k <= 5; k++) {
      // Clocks a few ms apart, in varying order.
      for (const [i, p] of procs.entries()) {
        clocks[i].now = T0 + k * 1000 + ((i * 7 + k * 3) % 11);
        await p.firing.round();
      }
    }
    assert.deepEqual(stream.ids(), [1, 2, 3, 4, 5].map((k) => `ping@0@${new Date(T0 + k * 1000).toISOString()}`));
    assert.deepEqual(stream.jobs.map((j) => new TextDecoder().decode(j.data)), Array(5).fill(`{"args":["eu"]}`));
    assert.equal(stream.jobs.every((j) => j.task === "ping" && j.retries === 0 && j.etaMs === null), true);
    assert.equal(await store.lastTick("ping", 0), T0 + 5000);
  });

  it("a process whose clock is late finds the tick recorded and does not publish it again", async () => {
    const stream = new FakeStream();
    const store = new MemoryScheduleStore();
    const ahead = { now: T0 + 500 };
    const late = { now: T0 + 500 };
    const a = process(stream, store, ahead, [spec({ every: 1 })]);
    const b = process(stream, store, late, [spec({ every: 1 })]);
    await a.firing.round();
    await b.firing.round();
    ahead.now = T0 + 1000;
    await a.firing.round();
    stream.forget(); // b's clock is so late that the duplicate window has passed when it reaches the tick
    late.now = T0 + 1000;
    await b.firing.round();
    assert.deepEqual(stream.ids(), [`ping@0@${new Date(T0 + 1000).toISOString()}`], "published once");
    assert.equal(b.events.some((e) => e.type === "schedule.fired"), false);
  });

  it("at start: the latest missed tick once, none with catchUp none, each with all; then the next tick on time", async () => {
    const stream = new FakeStream();
    const store = new MemoryScheduleStore();
    for (const i of [0, 1, 2]) await store.markFired("ping", i, T0);
    const clock = { now: T0 + 7300 }; // ticks at +2, +4, +6 s were missed
    const p = process(stream, store, clock, [spec({ every: 2 }), spec({ every: 2, catchUp: "none" }), spec({ every: 2, catchUp: "all" })]);
    await p.firing.round();
    const at = (i: number, s: number) => `ping@${i}@${new Date(T0 + s * 1000).toISOString()}`;
    assert.deepEqual(stream.ids(), [at(0, 6), at(2, 2), at(2, 4), at(2, 6)]);
    const skipped = p.events.filter((e) => e.type === "schedule.skipped");
    assert.deepEqual(skipped.map((e) => e.type === "schedule.skipped" && [e.index, e.ticks, e.catchUp]), [[0, 2, "latest"], [1, 3, "none"]]);
    assert.equal(p.firing.nextWake(), T0 + 8000);
    clock.now = T0 + 8001;
    await p.firing.round();
    assert.deepEqual(stream.ids().slice(4), [at(0, 8), at(1, 8), at(2, 8)]);
  });

  it("a failed publish is an error event, and the tick is published by a later round", async () => {
    const stream = new FakeStream();
    const store = new MemoryScheduleStore();
    const clock = { now: T0 + 100 };
    const p = process(stream, store, clock, [spec({ every: 1 })]);
    await p.firing.round();
    clock.now = T0 + 1000;
    stream.failNext = 1;
    assert.equal(await p.firing.round(), false);
    assert.match(JSON.stringify(p.events.find((e) => e.type === "error")), /schedule ping@0.*timeout/);
    assert.equal(await store.lastTick("ping", 0), null, "not recorded as fired");
    clock.now = T0 + 1200;
    assert.equal(await p.firing.round(), true);
    assert.deepEqual(stream.ids(), [`ping@0@${new Date(T0 + 1000).toISOString()}`]);
  });

  it("start() registers each schedule's spec, and stop() ends the loop", async () => {
    const stream = new FakeStream();
    const store = new MemoryScheduleStore();
    const p = process(stream, store, { now: Date.now() }, [spec({ cron: "0 3 * * *", tz: "Europe/Berlin", args: [1] })]);
    p.firing.start();
    await new Promise((r) => setTimeout(r, 20));
    await p.firing.stop();
    await p.firing.stop();
    assert.deepEqual(await store.list(), [
      { task: "ping", index: 0, every: null, cron: "0 3 * * *", tz: "Europe/Berlin", args: [1], catchUp: "latest", lastTick: null },
    ]);
  });
});
