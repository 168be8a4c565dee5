import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pullStatus } from "../../../../src/worker/intake/consumer.ts";
import { ackTimestampNanos, deliveryInfo } from "../../../../src/worker/intake/job_headers.ts";

describe("pullStatus()", () => {
  it("pullStatus() keeps a request open on a heartbeat and ends it quietly when it expires or finds nothing", () => {
    assert.deepEqual(pullStatus(100, "Idle Heartbeat"), { ends: false, error: null, transient: true });
    assert.deepEqual(pullStatus(408, "Request Timeout"), { ends: true, error: null, transient: true });
    assert.deepEqual(pullStatus(404, "No Messages"), { ends: true, error: null, transient: true });
  });

  it("pullStatus() ends a request on 409: quietly when the server stops or the leader moves, retried at once unless the consumer is gone", () => {
    assert.deepEqual(pullStatus(409, "Leadership Change"), { ends: true, error: null, transient: true });
    assert.deepEqual(pullStatus(409, "Server Shutdown"), { ends: true, error: null, transient: true });
    assert.deepEqual(pullStatus(409, "Exceeded MaxWaiting"), { ends: true, error: "pull ended by the server: Exceeded MaxWaiting", transient: true });
    assert.equal(pullStatus(409, "Consumer Deleted").transient, false);
  });

  it("pullStatus() calls no responders and unknown codes errors that pause the pulls", () => {
    assert.equal(pullStatus(503, "").transient, false);
    assert.match(pullStatus(503, "").error!, /JetStream/);
    assert.deepEqual(pullStatus(400, "Bad Request"), { ends: true, error: "pull ended by the server: 400 Bad Request", transient: false });
  });
});

describe("deliveryInfo()", () => {
  it("deliveryInfo() reads both ack subject formats", () => {
    assert.deepEqual(deliveryInfo("$JS.ACK.jobs.qw_jobs.3.12345.678.1700000000000000000.42"), {
      domain: "",
      stream: "jobs",
      consumer: "qw_jobs",
      deliveryCount: 3,
      streamSequence: 12345,
      deliverySequence: 678,
      timestampNanos: 1700000000000000000,
      pending: 42,
      redelivered: true,
    });
    const v2 = deliveryInfo("$JS.ACK.dom.ACCHASH.jobs.qw_jobs.1.7.7.1700000000000000000.0.rAnD0m")!;
    assert.equal(v2.domain, "dom");
    assert.equal(v2.account_hash, "ACCHASH");
    assert.deepEqual([v2.stream, v2.consumer, v2.deliveryCount, v2.streamSequence, v2.pending, v2.redelivered], ["jobs", "qw_jobs", 1, 7, 0, false]);
    assert.equal(deliveryInfo("$JS.ACK._.ACCHASH.jobs.qw_jobs.1.7.7.1700000000000000000.0")!.domain, "");
  });

  it("deliveryInfo() is null for what is not an ack subject", () => {
    assert.equal(deliveryInfo("_INBOX.abc.def"), null);
    assert.equal(deliveryInfo("$JS.ACK.a.b.x.y.z.w.v"), null);
    assert.equal(deliveryInfo("$JS.ACK.a.b.1.2"), null);
  });
});

describe("ackTimestampNanos()", () => {
  it("ackTimestampNanos() reads the publish time exactly from both ack subject formats, 0n from anything else", () => {
    assert.equal(ackTimestampNanos("$JS.ACK.jobs.qw_jobs.3.12345.678.1700000000123456789.42"), 1700000000123456789n);
    assert.equal(ackTimestampNanos("$JS.ACK.dom.ACCHASH.jobs.qw_jobs.1.7.7.1700000000123456789.0.rAnD0m"), 1700000000123456789n);
    assert.equal(ackTimestampNanos("_INBOX.abc.def"), 0n);
  });
});
