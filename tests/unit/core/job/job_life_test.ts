// The job's life as a table: every step from every state, no NATS, no clock.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hasStarted, isGone, isWaiting, JOB_STATES, type JobState, type JobStep, leaseKind, step } from "../../../../src/core/job/job_life.ts";

const STEPS: JobStep[] = ["gate", "queue", "start", "finish", "end", "settle", "hand_back"];

// Every legal move; anything not listed must be refused.
const LEGAL: Record<string, JobState> = {
  "received gate": "gated",
  "received queue": "queued",
  "received end": "settling",
  "received hand_back": "handed_back",
  "gated queue": "queued",
  "gated end": "settling",
  "gated hand_back": "handed_back",
  "queued start": "running",
  "queued finish": "finished",
  "queued end": "settling",
  "queued hand_back": "handed_back",
  "running finish": "finished",
  "running end": "settling",
  "running hand_back": "handed_back",
  "finished end": "settling",
  "finished hand_back": "handed_back",
  "settling settle": "settled",
  "settling hand_back": "handed_back",
};

describe("step()", () => {
  for (const from of JOB_STATES) {
    for (const s of STEPS) {
      const want = LEGAL[`${from} ${s}`] ?? null;
      it(`step() ${from} --${s}--> ${want ?? "refused"}`, () => assert.equal(step(from, s), want));
    }
  }

  it("step() never leaves settled or handed_back: one ack, nak or term per delivery", () => {
    for (const s of STEPS) {
      assert.equal(step("settled", s), null);
      assert.equal(step("handed_back", s), null);
    }
  });

  it("step() cannot start a job twice or settle it before its outcome", () => {
    for (const from of ["running", "finished", "settling", "settled"] as JobState[]) assert.equal(step(from, "start"), null);
    for (const from of ["received", "gated", "queued", "running", "finished"] as JobState[]) assert.equal(step(from, "settle"), null);
  });
});

describe("what a state means", () => {
  const rows: [JobState, boolean, boolean, boolean, ReturnType<typeof leaseKind>][] = [
    // state, waiting, started, gone, lease
    ["received", true, false, false, "waiting"],
    ["gated", true, false, false, "waiting"],
    ["queued", true, false, false, "waiting"],
    ["running", false, true, false, "progress"],
    ["finished", false, true, false, "progress"],
    ["settling", false, false, false, "progress"],
    ["settled", false, false, true, "none"],
    ["handed_back", false, false, true, "none"],
  ];
  for (const [state, waiting, started, gone, lease] of rows) {
    it(`${state}: waiting ${waiting}, started ${started}, gone ${gone}, lease ${lease}`, () => {
      assert.equal(isWaiting(state), waiting);
      assert.equal(hasStarted(state), started);
      assert.equal(isGone(state), gone);
      assert.equal(leaseKind(state), lease);
    });
  }
});
