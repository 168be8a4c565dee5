// Server errors are told apart by their JetStream API codes, never by their
// text: an unrelated error that says "not found" is not a missing stream.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JetStreamManager } from "@nats-io/jetstream";
import { JetStreamApiError } from "@nats-io/jetstream";
import { apiCode, isConsumerNotFound, isNoMessage, isNotFound, isSchedulesDisabled, isStreamNotFound } from "../../../src/client/server_errors.ts";
import { openBucket } from "../../../src/client/buckets/buckets.ts";

const api = (err_code: number, description: string, code = 404) => new JetStreamApiError({ code, err_code, description });

describe("server errors", () => {
  const streamGone = api(10059, "stream not found");
  const consumerGone = api(10014, "consumer not found");
  const noMessage = api(10037, "no message found");
  const inUse = api(10058, "stream name already in use with a different configuration", 400);
  const rows: [string, unknown, number | null, boolean, boolean, boolean, boolean][] = [
    // name, error, code, stream, consumer, message, any
    ["stream not found", streamGone, 10059, true, false, false, true],
    ["consumer not found", consumerGone, 10014, false, true, false, true],
    ["no message found", noMessage, 10037, false, false, true, true],
    ["name in use", inUse, 10058, false, false, false, false],
    ["a code with other words", api(10059, "stream missing"), 10059, true, false, false, true],
    ["a plain error that says not found", new Error("stream not found"), null, false, false, false, false],
    ["a timeout", new Error("timeout"), null, false, false, false, false],
    ["a copy of the class from another bundle", Object.assign(new Error("x"), { name: "StreamNotFoundError", code: 10059 }), 10059, true, false, false, true],
    ["not an error", "stream not found", null, false, false, false, false],
    ["null", null, null, false, false, false, false],
  ];
  for (const [name, e, code, stream, consumer, message, any] of rows) {
    it(name, () => {
      assert.equal(apiCode(e), code);
      assert.equal(isStreamNotFound(e), stream);
      assert.equal(isConsumerNotFound(e), consumer);
      assert.equal(isNoMessage(e), message);
      assert.equal(isNotFound(e), any);
    });
  }
  it("isSchedulesDisabled() is the code of a schedule sent to a stream without allow_msg_schedules", () => {
    assert.equal(isSchedulesDisabled(api(10188, "message schedules is disabled", 400)), true);
    assert.equal(isSchedulesDisabled(new Error("message schedules is disabled")), false);
    assert.equal(isSchedulesDisabled(streamGone), false);
  });
});

describe("openBucket()", () => {
  const jsmThrowing = (e: unknown) => ({ streams: { info: () => Promise.reject(e) } }) as unknown as JetStreamManager;

  it("is null when the bucket's stream does not exist", async () => {
    assert.equal(await openBucket(jsmThrowing(api(10059, "stream not found")), "b"), null);
  });

  it("passes on an unrelated error that says 'not found' instead of reading it as no bucket", async () => {
    const e = new Error("Permissions Violation: subject '$JS.API.STREAM.INFO.KV_b' not found in allow list");
    await assert.rejects(openBucket(jsmThrowing(e), "b"), e);
  });
});
