// How a pause reads in `qw pause`, `qw inspect` and the dashboard.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describePause, pauseJson } from "../../../src/ops/pause_control.ts";

const at = "2027-01-15T08:00:00.000Z";

describe("describePause() and pauseJson()", () => {
  const rows: [string, Parameters<typeof describePause>[1], string][] = [
    ["the whole stream, until resumed", { task: null, until: null, by: "ops@host", at }, `stream 'jobs' paused until resumed by ops@host since ${at}`],
    ["a task, until a date", { task: "resize", until: Date.parse("2027-01-15T10:00:00Z"), by: "dashboard", at }, `task 'resize' paused until 2027-01-15T10:00:00.000Z by dashboard since ${at}`],
    ["no author, no time", { task: "a", until: null, by: "", at: "" }, "task 'a' paused until resumed"],
  ];
  for (const [name, r, want] of rows) it(`describePause(): ${name}`, () => assert.equal(describePause("jobs", r), want));

  it("pauseJson() gives until as ISO 8601 or null", () => {
    assert.deepEqual(pauseJson({ task: null, until: null, by: "x", at }), { task: null, until: null, by: "x", at });
    assert.deepEqual(pauseJson({ task: "a", until: 0, by: "x", at }).until, "1970-01-01T00:00:00.000Z");
  });
});
