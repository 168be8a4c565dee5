import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  deserializeError,
  packBatch,
  RING_SIZE,
  serializeError,
  Status,
  statusOf,
  slotOf,
  tag,
  unpackBatch,
  userStack,
} from "../../../../src/worker/pool/protocol.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("protocol", () => {
  it("packBatch() and unpackBatch() round-trip jobs with bodies in one buffer", () => {
    const jobs = [
      { task: "add", data: enc('{"args":[1,2]}'), id: "a", retries: 0, deliveryCount: 1 },
      { task: "noop", data: enc(""), id: "b", retries: 2, deliveryCount: 3 },
      { task: "add", data: enc('{"args":["ü"]}'), id: "c", retries: 1, deliveryCount: 1 },
    ];
    const batch = packBatch(41, jobs);
    assert.equal(batch.body.byteLength, jobs.reduce((n, j) => n + j.data.byteLength, 0));
    const out = unpackBatch(structuredClone(batch));
    assert.deepEqual(out.map((j) => j.k), [41, 42, 43]);
    assert.deepEqual(out.map((j) => new TextDecoder().decode(j.data)), ['{"args":[1,2]}', "", '{"args":["ü"]}']);
    assert.deepEqual(out.map((j) => [j.task, j.id, j.retries, j.deliveryCount]), [["add", "a", 0, 1], ["noop", "b", 2, 3], ["add", "c", 1, 1]]);
  });

  it("packBatch() copies views of a larger buffer without the rest of it", () => {
    const socket = enc("xxxx{\"args\":[]}yyyy");
    const batch = packBatch(0, [{ task: "t", data: socket.subarray(4, 15), id: "i", retries: 0, deliveryCount: 1 }]);
    assert.equal(batch.body.byteLength, 11);
  });

  it("tag() and statusOf() tell a job's status and ignore a reused slot", () => {
    const ring = new Int32Array(new SharedArrayBuffer(RING_SIZE * 4));
    Atomics.store(ring, slotOf(5), tag(5, Status.RUNNING));
    assert.equal(statusOf(ring, 5), Status.RUNNING);
    Atomics.store(ring, slotOf(5 + RING_SIZE), tag(5 + RING_SIZE, Status.QUEUED));
    assert.equal(statusOf(ring, 5), 0, "the slot now belongs to a later job");
    assert.equal(statusOf(ring, 5 + RING_SIZE), Status.QUEUED);
  });

  it("a stolen job cannot be claimed: the claim CAS fails", () => {
    const ring = new Int32Array(new SharedArrayBuffer(RING_SIZE * 4));
    Atomics.store(ring, slotOf(7), tag(7, Status.QUEUED));
    assert.equal(Atomics.compareExchange(ring, slotOf(7), tag(7, Status.QUEUED), tag(7, Status.STOLEN)), tag(7, Status.QUEUED));
    assert.notEqual(Atomics.compareExchange(ring, slotOf(7), tag(7, Status.QUEUED), tag(7, Status.CLAIMED)), tag(7, Status.QUEUED));
  });

  it("serializeError() keeps name, message, stack, cause and custom fields", () => {
    class PaymentError extends Error {
      code = "card_declined";
      constructor(m: string, o?: ErrorOptions) {
        super(m, o);
        this.name = "PaymentError";
      }
    }
    const s = serializeError(new PaymentError("declined", { cause: new TypeError("bad card") }));
    assert.equal(s.name, "PaymentError");
    assert.equal(s.message, "declined");
    assert.equal(s.cause?.name, "TypeError");
    assert.deepEqual(s.data, { code: "card_declined" });
    const e = deserializeError(structuredClone(s));
    assert.equal(e.name, "PaymentError");
    assert.equal((e as unknown as { code: string }).code, "card_declined");
    assert.equal((e.cause as Error).message, "bad card");
  });

  it("serializeError() wraps values that are not Errors", () => {
    assert.deepEqual(serializeError("boom"), { name: "NonError", message: 'A non-Error value was thrown: "boom"' });
    assert.equal(serializeError(undefined).name, "NonError");
    assert.equal(serializeError({ message: "shaped like an error" }).message, "shaped like an error");
  });
});

describe("ackNumbers()", () => {
  it("ackNumbers() reads the delivery count and stream sequence of both ack subject formats", async () => {
    const { ackNumbers } = await import("../../../../src/worker/intake/job_headers.ts");
    assert.deepEqual(ackNumbers("$JS.ACK.jobs.qw_jobs.3.12345.678.1700000000000000000.42"), { deliveryCount: 3, seq: 12345 });
    assert.deepEqual(ackNumbers("$JS.ACK._.ACCHASH.jobs.qw_jobs.1.7.7.1700000000000000000.0"), { deliveryCount: 1, seq: 7 });
    assert.deepEqual(
      ackNumbers("$JS.ACK.dom.ACCHASH.jobs.qw_jobs.12.99999999.5.1700000000000000000.0.rAnD0m"),
      { deliveryCount: 12, seq: 99999999 },
    );
    assert.equal(ackNumbers("_INBOX.abc.def"), null);
    assert.equal(ackNumbers("$JS.ACK.a.b.x.y.z.w.v"), null);
  });
});

describe("userStack()", () => {
  it("drops qw's frames from the binary and from source, keeping the task's", () => {
    const stack = [
      "Error: boom",
      "    at fails (/app/tasks.ts:9:13)",
      "    at runJob (/$bunfs/root/src/worker/pool/worker_entry.js:570:69)",
      "    at pump (/$bunfs/root/src/worker/pool/worker_entry.js:533:23)",
      "    at helper (/app/lib/helper.ts:3:1)",
      "    at runJob (file:///work/qw/src/worker/pool/worker_entry.ts:160:20)",
      "    at <anonymous> (/work/qw/src/worker/pool/worker_entry.ts:478:13)",
    ].join("\n");
    assert.equal(userStack(stack), "Error: boom\n    at fails (/app/tasks.ts:9:13)\n    at helper (/app/lib/helper.ts:3:1)");
  });

  it("is applied to every serialized error", () => {
    const e = new Error("x");
    e.stack = "Error: x\n    at t (/app/tasks.ts:1:1)\n    at runJob (/$bunfs/root/src/worker/pool/worker_entry.js:1:1)";
    assert.equal(serializeError(e).stack, "Error: x\n    at t (/app/tasks.ts:1:1)");
  });
});
