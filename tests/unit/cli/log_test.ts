import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { levelOf, messageOf } from "../../../src/cli/log.ts";
import { CONNECTED, connectionLine, type ConnectionLogState } from "../../../src/cli/_connection_lines.ts";
import type { QwEvent } from "../../../src/core/events.ts";

const retry = (attempt: number): QwEvent => ({
  type: "connection.retry", attempt, error: "connection refused", server: "nats://h:1", timeoutSeconds: 30,
});

describe("levelOf()", () => {
  test("logs the worker's first failed connection attempt as a warning, the next ones at debug", () => {
    assert.equal(levelOf(retry(1)), "warning");
    assert.equal(levelOf(retry(2)), "debug");
    assert.equal(levelOf(retry(9)), "debug");
  });

  test("logs jobs that went well at debug and jobs that did not at warning or error", () => {
    const job = { id: "a", task: "t", retries: 0, deliveryCount: 1, seq: 1 };
    assert.equal(levelOf({ type: "job.succeeded", ms: 1, ...job }), "debug");
    assert.equal(levelOf({ type: "job.started", ...job }), "debug");
    assert.equal(levelOf({ type: "job.retry_scheduled", countdown: 1, ...job }), "warning");
    assert.equal(levelOf({ type: "job.failed", ms: 1, error: { name: "E", message: "m" }, ...job }), "error");
  });

  test("logs a hand-back at warning, but one because of a pause at debug: the pause itself is the line to read", () => {
    const job = { id: "a", task: "t", retries: 0, deliveryCount: 1, seq: 1 };
    assert.equal(levelOf({ type: "job.handed_back", reason: "waited", cause: "waited", ...job }), "warning");
    assert.equal(levelOf({ type: "job.handed_back", reason: "task 't' is paused", cause: "paused", ...job }), "debug");
    assert.equal(levelOf({ type: "pause.changed", paused: [] }), "info");
  });

  test("logs every failed connection attempt of a one-shot command at debug", () => {
    assert.equal(levelOf(retry(1), { oneShot: true }), "debug");
    assert.equal(levelOf(retry(2), { oneShot: true }), "debug");
  });
});

describe("messageOf()", () => {
  test("says what is paused, or that nothing is", () => {
    assert.equal(messageOf({ type: "pause.changed", paused: ["stream 'jobs' paused until resumed", "task 'a' paused until resumed"] }),
      "paused: stream 'jobs' paused until resumed; task 'a' paused until resumed");
    assert.equal(messageOf({ type: "pause.changed", paused: [] }), "nothing paused: jobs start again");
  });


  test("says how long shutdown waits for running jobs and how to cut it short", () => {
    assert.equal(
      messageOf({ type: "service.draining", running: 1, graceSeconds: 30 }),
      "waiting up to 30 s for 1 running job; signal again to stop now",
    );
    assert.equal(messageOf({ type: "service.draining", running: 2, graceSeconds: 0.5 }), "waiting up to 0.5 s for 2 running jobs; signal again to stop now");
    assert.equal(levelOf({ type: "service.draining", running: 1, graceSeconds: 30 }), "info");
  });

  test("says how long a failed connection is retried", () => {
    assert.equal(
      messageOf(retry(1)),
      "cannot connect to NATS at 'nats://h:1' (attempt 1): connection refused; retrying for up to 30 s",
    );
  });
});

describe("connectionLine()", () => {
  const status = (s: string, detail?: string): QwEvent =>
    s === "shutdown" ? { type: "error", where: "consumer", error: "server shutdown" } : { type: "connection.status", status: s, detail };

  /** The lines above debug for a sequence of [ms, status] events. */
  function visible(events: [number, string][]): string[] {
    let state: ConnectionLogState = CONNECTED;
    const lines: string[] = [];
    for (const [now, s] of events) {
      const line = connectionLine(state, status(s, s === "pull_retry" ? "consumer: heartbeats missed" : "nats://h:4222"), now)!;
      state = line.state;
      if (line.level !== "debug") lines.push(`${line.level} ${line.message}`);
    }
    return lines;
  }

  test("logs a 15 s outage as two lines: lost, and back after 15 s", () => {
    const events: [number, string][] = [[1_000, "disconnect"]];
    for (let t = 1_500; t < 16_000; t += 500) events.push([t, "reconnecting"], [t + 100, "pull_retry"], [t + 200, "error"]);
    events.push([16_000, "reconnect"]);
    assert.deepEqual(visible(events), [
      "warning disconnected from NATS at 'nats://h:4222'; reconnecting until it is back",
      "info reconnected to NATS at 'nats://h:4222' after 15.0 s",
    ]);
  });

  test("logs missed heartbeats while connected at most once a minute", () => {
    const events: [number, string][] = [];
    for (let t = 0; t <= 120_000; t += 1_000) events.push([t, "pull_retry"]);
    const lines = visible(events);
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^warning a pull ended early: consumer: heartbeats missed; retrying/);
  });

  test("starts the outage at the pulls' 'server shutdown', before the disconnect", () => {
    const lines = visible([[0, "shutdown"], [10, "shutdown"], [50, "disconnect"], [3_100, "reconnect"]]);
    assert.deepEqual(lines, [
      "warning the NATS server is shutting down (consumer: server shutdown); reconnecting until it is back",
      "info reconnected to NATS at 'nats://h:4222' after 3.1 s",
    ]);
  });

  test("leaves other events alone", () => {
    assert.equal(connectionLine(CONNECTED, { type: "error", where: "consumer", error: "boom" }, 0), null);
    assert.equal(connectionLine(CONNECTED, { type: "pool.recovered", seconds: 1 }, 0), null);
  });

  test("logs a second outage again", () => {
    const lines = visible([[0, "disconnect"], [1_000, "reconnect"], [5_000, "disconnect"], [5_500, "disconnect"], [7_500, "reconnect"]]);
    assert.deepEqual(lines.map((l) => l.split(" ")[0]), ["warning", "info", "warning", "info"]);
    assert.match(lines[3], /after 2\.5 s$/);
  });
});
