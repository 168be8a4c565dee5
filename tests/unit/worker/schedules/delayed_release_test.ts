/** The task id a delayed job is released with, from the headers any client may set. */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { delayedJobId, releaseOf } from "../../../../src/worker/schedules/delayed_release.ts";

const with_ = (pairs: [string, string][]) => {
  const h = headers();
  for (const [k, v] of pairs) h.set(k, v);
  return h;
};

describe("delayedJobId()", () => {
  it("takes Qw-Id when there is one, as qw's producer sets it", () => {
    assert.equal(delayedJobId(with_([["Qw-Id", "order-1"], ["Nats-Msg-Id", "order-1:2:eta"]]), "jobs", 7), "order-1");
  });

  it("takes Nats-Msg-Id when a client set only the dedup id", () => {
    assert.equal(delayedJobId(with_([["Nats-Msg-Id", "order-43"]]), "jobs", 7), "order-43");
  });

  it("is <stream>:<sequence> of the delayed message without either", () => {
    assert.equal(delayedJobId(with_([["Qw-Eta", "1"]]), "jobs", 7), "jobs:7");
    assert.equal(delayedJobId(undefined, "jobs", 7), "jobs:7");
  });
});

describe("releaseOf()", () => {
  it("releaseOf() keeps a job's own headers but not the batch headers it was stored with", () => {
    const h = with_([["Qw-Id", "a"], ["Qw-Eta", "1"], ["Nats-Msg-Id", "a:eta"], ["X-Trace", "t"], ["Nats-Batch-Id", "b"], ["Nats-Batch-Sequence", "2"], ["Nats-Batch-Commit", "1"]]);
    const r = releaseOf("jobs", { subject: "jobs._delayed.add", headers: h, seq: 7 });
    assert.deepEqual(r.headers, [["X-Trace", "t"], ["Qw-Id", "a"]]);
    assert.equal(r.subject, "jobs.add");
    assert.equal(r.msgId, "a:eta:go");
  });
});
