// The key puller's reading of the active keys: a moment of failed reads is quiet, a long one is reported once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { KeyPuller, type KeyPullerOptions } from "../../../../src/worker/keys/key_puller.ts";
import type { KeyConsumers } from "../../../../src/worker/keys/key_consumers.ts";

/** A key puller whose stream info comes from `info`, with no room to pull, and `over` on top. */
function pullerOf(info: () => Promise<unknown>, over: Partial<KeyPullerOptions>): KeyPuller {
  return new KeyPuller({
    nc: {} as NatsConnection,
    jsm: { streams: { info } } as unknown as JetStreamManager,
    stream: "jobs",
    consumers: {} as KeyConsumers,
    room: () => 0,
    whenRoom: () => new Promise(() => {}),
    onMessage: () => {},
    onLate: () => {},
    onError: () => {},
    ...over,
  });
}

const puller = (info: () => Promise<unknown>, clock: { t: number }, errors: [string, boolean][]): KeyPuller =>
  pullerOf(info, { onError: (e, transient) => errors.push([e, transient]), now: () => clock.t });

const failing = () => Promise.reject(new Error("timeout"));
const keys = (subjects: Record<string, number>) => () => Promise.resolve({ state: { subjects } });

describe("KeyPuller.poll()", () => {
  it("reads the key subjects that hold messages, in turn order", async () => {
    const p = puller(keys({ "jobs._key.t.a": 2, "jobs._key.t.b": 0, "jobs._key.t.c": 1 }), { t: 0 }, []);
    await p.poll();
    assert.deepEqual([...p.keys].sort(), ["jobs._key.t.a", "jobs._key.t.c"]);
  });

  it("says nothing of reads that fail for less than 5 s, and reports a longer streak once, as transient", async () => {
    const clock = { t: 1_000 };
    const errors: [string, boolean][] = [];
    const p = puller(failing, clock, errors);
    for (; clock.t < 5_500; clock.t += 500) await p.poll();
    assert.deepEqual(errors, []);
    for (; clock.t < 9_000; clock.t += 500) await p.poll();
    assert.equal(errors.length, 1);
    assert.match(errors[0][0], /cannot read the active concurrency keys for 5 s \(timeout\)/);
    assert.equal(errors[0][1], true);
  });

  it("starts a new streak after a read that works", async () => {
    const clock = { t: 0 };
    const errors: [string, boolean][] = [];
    let ok = false;
    const p = puller(() => ok ? keys({})() : failing(), clock, errors);
    for (; clock.t <= 6_000; clock.t += 500) await p.poll();
    ok = true;
    await p.poll();
    ok = false;
    for (clock.t += 500; clock.t <= 13_000; clock.t += 500) await p.poll();
    assert.equal(errors.length, 2);
  });
});

describe("KeyPuller.start()", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  function started(keyed: boolean, subjects: Record<string, number> = {}): { p: KeyPuller; reads: () => number } {
    let reads = 0;
    const p = pullerOf(() => (reads++, Promise.resolve({ state: { subjects } })), {
      nc: { subscribe: () => ({ unsubscribe: () => {} }) } as unknown as NatsConnection,
      pollMs: 10,
      keyed: () => keyed,
    });
    p.start();
    return { p, reads: () => reads };
  }

  it("reads the active keys every pollMs when a task has concurrency", async () => {
    const { p, reads } = started(true);
    await sleep(120);
    await p.stop();
    assert.ok(p.polling);
    assert.ok(reads() >= 4, `read ${reads()} times`);
  });

  it("reads them once when no task has concurrency, and every pollMs from the first key routed", async () => {
    const { p, reads } = started(false);
    await sleep(120);
    assert.equal(reads(), 1);
    assert.equal(p.polling, false);
    p.noteKey("jobs._key.t.a");
    await sleep(120);
    await p.stop();
    assert.ok(p.polling);
    assert.ok(reads() >= 4, `read ${reads()} times`);
  });

  it("reads them every pollMs once its first read finds a key left by another process", async () => {
    const { p, reads } = started(false, { "jobs._key.t.a": 1 });
    await sleep(120);
    await p.stop();
    assert.ok(reads() >= 4, `read ${reads()} times`);
  });
});
