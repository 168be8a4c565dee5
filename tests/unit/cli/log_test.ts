import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { levelOf, messageOf } from "../../../src/cli/log.ts";
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

  test("logs every failed connection attempt of a one-shot command at debug", () => {
    assert.equal(levelOf(retry(1), { oneShot: true }), "debug");
    assert.equal(levelOf(retry(2), { oneShot: true }), "debug");
  });
});

describe("messageOf()", () => {
  test("says how long a failed connection is retried", () => {
    assert.equal(
      messageOf(retry(1)),
      "cannot connect to NATS at 'nats://h:1' (attempt 1): connection refused; retrying for up to 30 s",
    );
  });
});
