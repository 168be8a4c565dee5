import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setupFailure, startingOver } from "../../../src/worker/setup.ts";
import type { QwEvent } from "../../../src/core/events.ts";

describe("setupFailure()", () => {
  it("tells a create raced by another process from a server without JetStream, a leaderless cluster and a real error", () => {
    assert.equal(setupFailure("subjects overlap with an existing stream"), "race");
    assert.equal(setupFailure("stream name already in use with a different configuration"), "race");
    assert.equal(setupFailure("JetStream not enabled for account"), "no_jetstream");
    assert.equal(setupFailure("503 no responders available"), "no_jetstream");
    assert.equal(setupFailure("TIMEOUT"), "timeout");
    assert.equal(setupFailure("request timed out"), "timeout");
    assert.equal(setupFailure("insufficient resources"), "fatal");
    assert.equal(setupFailure("Authorization Violation"), "fatal");
  });
});

describe("startingOver()", () => {
  const cfg = { servers: ["nats://a:4222"], connectTimeout: 5 };

  it("starts again after a bare request timeout, with a line per attempt", async () => {
    const events: QwEvent[] = [];
    let calls = 0;
    const got = await startingOver(cfg, (e) => events.push(e), () => ++calls < 3 ? Promise.reject(new Error("timeout")) : Promise.resolve("up"), 1);
    assert.equal(got, "up");
    assert.equal(calls, 3);
    assert.deepEqual(events.map((e) => e.type === "connection.retry" ? [e.attempt, e.error] : e.type), [[1, "worker start: timeout"], [2, "worker start: timeout"]]);
  });

  it("throws any other error at once, even one that names a timeout option", async () => {
    for (const message of ["Cannot load tasks file: its Web Worker was not ready within 10 s (--spawn-timeout)", "Cannot set up stream 'jobs' on 'x' after 9 attempts in 5s: timeout"]) {
      let calls = 0;
      await assert.rejects(startingOver(cfg, () => {}, () => (calls++, Promise.reject(new Error(message))), 1), { message });
      assert.equal(calls, 1);
    }
  });

  it("throws the last timeout once connectTimeout has passed", async () => {
    let calls = 0;
    await assert.rejects(startingOver({ ...cfg, connectTimeout: 0.05 }, () => {}, () => (calls++, Promise.reject(new Error("timeout"))), 20), { message: "timeout" });
    assert.ok(calls >= 2 && calls <= 5, `calls ${calls}`);
  });
});
