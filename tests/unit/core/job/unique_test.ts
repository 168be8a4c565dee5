import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  debounceBucket,
  debounceScheduleName,
  isSuperseded,
  parseUniqueRecord,
  UNIQUE_PUBLISH_GRACE_MS,
  uniqueBucket,
  uniqueHolder,
  uniqueKvKey,
  type UniqueRecord,
} from "../../../../src/core/job/unique.ts";
import { planSettlement } from "../../../../src/core/job/settle_plan.ts";
import type { Decision } from "../../../../src/core/job/ack_policy.ts";

describe("uniqueKvKey()", () => {
  const cases: [string, string, string][] = [
    ["send-mail", "user-42", "send-mail.dXNlci00Mg"],
    ["send_mail", "a", "_c2VuZF9tYWls.YQ"],
    ["add", "a.b c*>", "add.YS5iIGMqPg"],
    ["add", "ü", "add.w7w"],
  ];
  for (const [task, key, want] of cases) {
    it(`uniqueKvKey(${JSON.stringify(task)}, ${JSON.stringify(key)}) is ${want}`, () => {
      const got = uniqueKvKey(task, key);
      assert.equal(got, want);
      assert.match(got, /^[-_=.A-Za-z0-9]+$/);
    });
  }
  it("gives different tasks with the same key different keys", () => {
    assert.notEqual(uniqueKvKey("a", "k"), uniqueKvKey("b", "k"));
  });
  it("names the buckets and the debounce schedule", () => {
    assert.equal(uniqueBucket("jobs"), "qw_jobs_unique");
    assert.equal(debounceBucket("jobs"), "qw_jobs_debounce");
    assert.equal(debounceScheduleName("k"), "debounce:k");
  });
});

describe("uniqueHolder()", () => {
  const now = 1_767_225_600_000;
  const rec = (published: boolean, ageMs: number): UniqueRecord => ({ id: "a", at: now - ageMs, published });
  const cases: [string, UniqueRecord | null, string | null, "held" | "stale"][] = [
    ["a published job with no record yet holds", rec(true, 3_600_000), "PENDING", "held"],
    ["a started job holds", rec(true, 0), "STARTED", "held"],
    ["a job waiting for its retry holds", rec(true, 0), "RETRY", "held"],
    ["a job in progress holds", rec(true, 0), "PROGRESS", "held"],
    ["a succeeded job is stale (its release was lost)", rec(true, 0), "SUCCESS", "stale"],
    ["a failed job is stale", rec(true, 0), "FAILURE", "stale"],
    ["a revoked or expired job is stale", rec(true, 0), "REVOKED", "stale"],
    ["an unpublished claim within the grace holds", rec(false, UNIQUE_PUBLISH_GRACE_MS), "PENDING", "held"],
    ["an unpublished claim past the grace is stale (its producer died)", rec(false, UNIQUE_PUBLISH_GRACE_MS + 1), "PENDING", "stale"],
    ["a value that is not a record is stale", null, null, "stale"],
  ];
  for (const [name, record, state, want] of cases) {
    it(name, () => assert.equal(uniqueHolder(record, state, now), want));
  }
});

describe("parseUniqueRecord()", () => {
  it("reads a record and refuses anything else", () => {
    assert.deepEqual(parseUniqueRecord('{"id":"a","at":1,"published":true}'), { id: "a", at: 1, published: true });
    assert.equal(parseUniqueRecord('{"id":"a"}'), null);
    assert.equal(parseUniqueRecord("a"), null);
    assert.equal(parseUniqueRecord("null"), null);
  });
});

describe("isSuperseded()", () => {
  it("drops a job whose key names another, keeps the latest and one with no record", () => {
    assert.equal(isSuperseded("a", "b"), true);
    assert.equal(isSuperseded("a", "a"), false);
    assert.equal(isSuperseded("a", null), false);
  });
});

describe("planSettlement() with a unique key", () => {
  const ctx = { acksLate: true, acked: false, flow: false, results: true, unique: true };
  const kinds = (d: Decision) => planSettlement(d, ctx).map((e) => e.kind);
  it("releases the key after the ack of a success", () => {
    assert.deepEqual(kinds({ broker: { op: "ack" }, state: "SUCCESS", event: "job.succeeded" }), ["write_result", "broker", "release_unique", "event"]);
  });
  it("releases the key of a dead-lettered failure and of a revoke", () => {
    assert.ok(kinds({ broker: { op: "term", reason: "x" }, state: "FAILURE", event: "job.rejected", deadLetter: "x" }).includes("release_unique"));
    assert.ok(kinds({ broker: { op: "ack" }, state: "REVOKED", event: "job.revoked" as Decision["event"] }).includes("release_unique"));
  });
  it("keeps the key while the job retries or is requeued", () => {
    assert.ok(!kinds({ broker: { op: "ack" }, state: "RETRY", event: "job.retry_scheduled", retry: { countdown: 1, retries: 1 } }).includes("release_unique"));
    assert.ok(!kinds({ broker: { op: "nak", delayMs: 0 }, state: null, event: "job.requeued" }).includes("release_unique"));
  });
  it("has no release without a key", () => {
    assert.ok(!planSettlement({ broker: { op: "ack" }, state: "SUCCESS", event: "job.succeeded" }, { ...ctx, unique: false }).some((e) => e.kind === "release_unique"));
  });
});
