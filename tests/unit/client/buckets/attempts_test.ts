import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_ATTEMPTS, MemoryResultStore, type ResultRecord, withAttempts } from "../../../../src/client/buckets/result_store.ts";
import { retryableJob } from "../../../../src/worker/settle/result_writes.ts";

const rec = (o: Partial<ResultRecord>): ResultRecord => ({
  id: "a", task: "t", state: "STARTED", retries: 0, deliveryCount: 1, worker: "w1", finishedAt: 10, ...o,
});

describe("attempts in result records", () => {
  it("withAttempts() keeps the replaced record as an attempt when it was another attempt", () => {
    const first = rec({ state: "RETRY", error: { name: "TypeError", message: "down", stack: "TypeError: down\n at x" }, startedAt: 5 });
    const second = withAttempts(rec({ state: "FAILURE", retries: 1, worker: "w2" }), first);
    assert.equal(second.attempts?.length, 1);
    assert.deepEqual(second.attempts?.[0], { state: "RETRY", retries: 0, deliveryCount: 1, worker: "w1", finishedAt: 10, startedAt: 5, error: first.error });
    const third = withAttempts(rec({ state: "SUCCESS", retries: 2 }), second);
    assert.deepEqual(third.attempts?.map((a) => [a.state, a.retries]), [["RETRY", 0], ["FAILURE", 1]]);
  });

  it("withAttempts() adds nothing within one attempt (PROGRESS then SUCCESS) and keeps the latest MAX_ATTEMPTS", () => {
    assert.equal(withAttempts(rec({ state: "SUCCESS" }), rec({ state: "PROGRESS" })).attempts, undefined);
    let r = rec({});
    for (let i = 1; i <= MAX_ATTEMPTS + 5; i++) r = withAttempts(rec({ retries: i }), r);
    assert.equal(r.attempts?.length, MAX_ATTEMPTS);
    assert.equal(r.attempts?.at(-1)?.retries, MAX_ATTEMPTS + 4);
  });

  it("the memory store records attempts the same way", async () => {
    const s = new MemoryResultStore();
    await s.write(rec({ state: "RETRY" }));
    await s.write(rec({ state: "FAILURE", retries: 1 }));
    assert.deepEqual((await s.get("a"))?.attempts?.map((a) => a.state), ["RETRY"]);
  });

  it("retryableJob() keeps subject, body and headers but the server's, retries, eta and runs; not a large or binary body", () => {
    const headers: [string, string[]][] = [["Nats-Msg-Id", ["x"]], ["Qw-Id", ["a"]], ["Qw-Retries", ["2"]], ["Qw-Runs", ["1"]], ["traceparent", ["00-1"]]];
    const job = retryableJob({ subject: "jobs.t", data: new TextEncoder().encode('{"args":[1]}'), headers });
    assert.deepEqual(job, { subject: "jobs.t", body: '{"args":[1]}', headers: [["Qw-Id", "a"], ["traceparent", "00-1"]] });
    assert.equal(retryableJob({ subject: "jobs.t", data: new Uint8Array(64 * 1024 + 1) }), undefined);
    assert.equal(retryableJob({ subject: "jobs.t", data: new Uint8Array([0xff, 0xfe]) }), undefined);
  });
});
