import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { parseJobHeaders } from "../../../../src/worker/intake/job_headers.ts";

describe("parseJobHeaders()", () => {
  it("parseJobHeaders() reads the job headers of a header block", () => {
    const block = "NATS/1.0\r\nNats-Msg-Id: order-42\r\nQw-Id: order-42\r\nQw-Retries: 2\r\nQw-Rate-Slot: 1700000000000\r\nQw-Flow: 1\r\nQw-Runs: 3\r\nQw-Expires: 1700000002000\r\nX-Trace: t\r\n\r\n";
    assert.deepEqual(parseJobHeaders(block), { id: "order-42", msgId: "order-42", retries: "2", rateSlot: "1700000000000", flow: "1", runs: "3", expires: "1700000002000", concurrencyKey: null, unique: null, debounce: null });
  });

  it("parseJobHeaders() matches keys without regard to case and trims values", () => {
    assert.deepEqual(parseJobHeaders("NATS/1.0\r\nqw-id:  a b \r\nNATS-MSG-ID:x\r\n\r\n"), { id: "a b", msgId: "x", retries: null, rateSlot: null, flow: null, runs: null, expires: null, concurrencyKey: null, unique: null, debounce: null });
  });

  it("parseJobHeaders() finds nothing in a block without them, or an empty one", () => {
    const none = { id: null, msgId: null, retries: null, rateSlot: null, flow: null, runs: null, expires: null, concurrencyKey: null, unique: null, debounce: null };
    assert.deepEqual(parseJobHeaders("NATS/1.0\r\nX-Qw-Id: no\r\n\r\n"), none);
    assert.deepEqual(parseJobHeaders(""), none);
  });

  it("parseJobHeaders() reads the unique key and the debounce mark, which settling a job needs", () => {
    const block = "NATS/1.0\r\nQw-Id: a\r\nQw-Unique: report:7\r\nQw-Debounce: 5\r\n\r\n";
    const h = parseJobHeaders(block);
    assert.deepEqual([h.unique, h.debounce], ["report:7", "5"]);
    assert.deepEqual([parseJobHeaders("NATS/1.0\r\nqw-unique: k\r\n\r\n").unique, parseJobHeaders("NATS/1.0\r\nqw-unique: k\r\n\r\n").debounce], ["k", null]);
  });

  it("parseJobHeaders() agrees with the client's header encoding", () => {
    const h = headers();
    h.set("Qw-Id", "é/ü:1");
    h.set("Qw-Retries", "3");
    const block = new TextDecoder().decode((h as unknown as { encode(): Uint8Array }).encode());
    assert.deepEqual(parseJobHeaders(block), { id: "é/ü:1", msgId: null, retries: "3", rateSlot: null, flow: null, runs: null, expires: null, concurrencyKey: null, unique: null, debounce: null });
  });
});
