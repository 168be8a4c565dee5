// What the pool reads from a Web Worker's shared ring, without a Web Worker:
// which job runs now, and how many run, from the moment they start.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RING_SIZE, slotOf, Status, tag } from "../../../../src/worker/pool/protocol.ts";
import { currentEntry, markStarted, type Slot } from "../../../../src/worker/pool/_pool_slot.ts";
import { runningIn } from "../../../../src/worker/pool/_pool_dispatch.ts";

function slot(statuses: number[]): Slot<string> {
  const ring = new Int32Array(new SharedArrayBuffer(RING_SIZE * 4));
  const fifo = statuses.map((st, k) => {
    Atomics.store(ring, slotOf(k), tag(k, st as Status));
    return { k, job: { task: "t", data: new Uint8Array(), id: `j${k}`, retries: 0, deliveryCount: 1, ref: `j${k}` }, started: false, finished: false, startedAt: 0 };
  });
  return {
    id: 0, worker: null as unknown as Worker, ring, ready: true, dead: false, killedFor: null, killedAs: "time_limit", nextK: fifo.length, fifo,
    runs: 0, assigned: fifo.length,
  };
}

describe("the pool's view of a Web Worker's ring", () => {
  it("a job counts as running as soon as its Web Worker marks it RUNNING, before the pool's next look marks it started", () => {
    const s = slot([Status.DONE, Status.RUNNING, Status.QUEUED]);
    assert.equal(runningIn([s]), 1, "running before the look");
    assert.equal(currentEntry(s), null, "no start time yet: time limits wait for the look");
    const seen = markStarted(s, 1000);
    assert.deepEqual(seen.started.map((e) => e.job.id), ["j0", "j1"], "a DONE job ran: it counts as started");
    assert.deepEqual(seen.finished.map((e) => e.job.id), ["j0"]);
    assert.equal(currentEntry(s)?.job.id, "j1");
    assert.equal(runningIn([s]), 1);
  });

  it("queued, claimed or finished jobs are not running; neither is a dead or unready Web Worker's", () => {
    assert.equal(runningIn([slot([Status.QUEUED, Status.QUEUED])]), 0);
    assert.equal(runningIn([slot([Status.CLAIMED])]), 0);
    assert.equal(runningIn([slot([Status.DONE, Status.DONE])]), 0);
    assert.equal(runningIn([slot([])]), 0);
    const dead = slot([Status.RUNNING]);
    dead.dead = true;
    const unready = slot([Status.RUNNING]);
    unready.ready = false;
    assert.equal(runningIn([dead, unready, slot([Status.RUNNING])]), 1);
  });

  it("markStarted() sees finished jobs whose outcome waits behind a running one, each once, and never an INVALID one", () => {
    // A Web Worker ran j0 and j2, refused j1, and now runs j3 (a long synchronous job holding their results).
    const s = slot([Status.DONE, Status.INVALID, Status.DONE, Status.RUNNING, Status.QUEUED]);
    const first = markStarted(s, 5);
    assert.deepEqual(first.started.map((e) => e.job.id), ["j0", "j2", "j3"]);
    assert.deepEqual(first.finished.map((e) => e.job.id), ["j0", "j2"]);
    const again = markStarted(s, 10);
    assert.deepEqual([again.started.length, again.finished.length], [0, 0], "each job is reported once");
    assert.equal(currentEntry(s)?.job.id, "j3");
  });
});
