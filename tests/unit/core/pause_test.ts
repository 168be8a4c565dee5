// Whether a task may start now, from the pause records and the clock; how a
// record is read back; how '--until' is read.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodePause,
  holdMs,
  nextPauseEnd,
  parseUntil,
  type PauseDecision,
  pauseDecision,
  pauseEntry,
  type PauseRecord,
  STREAM_PAUSE_KEY,
  streamPaused,
} from "../../../src/core/pause.ts";

const NOW = 1_800_000_000_000;
const rec = (task: string | null, until: number | null, by = "ops@host"): PauseRecord => ({ task, until, by, at: "2027-01-15T08:00:00.000Z" });

describe("pauseDecision()", () => {
  const rows: [string, PauseRecord[], string, PauseDecision][] = [
    ["nothing paused: may start", [], "add", { paused: false }],
    ["the whole stream, no end", [rec(null, null)], "add", { paused: true, scope: "stream", until: null, by: "ops@host" }],
    ["the whole stream until later", [rec(null, NOW + 5_000)], "add", { paused: true, scope: "stream", until: NOW + 5_000, by: "ops@host" }],
    ["the whole stream, ended exactly now", [rec(null, NOW)], "add", { paused: false }],
    ["the whole stream, ended before", [rec(null, NOW - 1)], "add", { paused: false }],
    ["this task", [rec("add", null)], "add", { paused: true, scope: "task", until: null, by: "ops@host" }],
    ["another task: may start", [rec("mul", null)], "add", { paused: false }],
    ["this task, expired", [rec("add", NOW - 1_000)], "add", { paused: false }],
    ["stream wins over the task's own", [rec("add", null, "a"), rec(null, NOW + 1, "b")], "add", { paused: true, scope: "stream", until: NOW + 1, by: "b" }],
    ["stream expired, task still paused", [rec(null, NOW - 1), rec("add", NOW + 9)], "add", { paused: true, scope: "task", until: NOW + 9, by: "ops@host" }],
  ];
  for (const [name, records, task, want] of rows) {
    it(name, () => assert.deepEqual(pauseDecision(records, task, NOW), want));
  }
});

describe("streamPaused(), nextPauseEnd(), holdMs()", () => {
  it("streamPaused() is true only for an active whole-stream pause", () => {
    assert.equal(streamPaused([rec("add", null)], NOW), false);
    assert.equal(streamPaused([rec(null, NOW + 1)], NOW), true);
    assert.equal(streamPaused([rec(null, NOW)], NOW), false);
  });
  it("nextPauseEnd() is the earliest end still ahead", () => {
    assert.equal(nextPauseEnd([rec(null, null), rec("a", NOW + 50), rec("b", NOW + 20), rec("c", NOW - 5)], NOW), NOW + 20);
    assert.equal(nextPauseEnd([rec(null, null)], NOW), null);
  });
  const rows: [string, PauseDecision, number][] = [
    ["not paused: goes now", { paused: false }, 0],
    ["the stream paused: goes now (it waits in the stream)", { paused: true, scope: "stream", until: null, by: "" }, 0],
    ["the task paused, no end: the recheck interval", { paused: true, scope: "task", until: null, by: "" }, 2_000],
    ["the task paused, ends sooner: until then", { paused: true, scope: "task", until: NOW + 300, by: "" }, 300],
    ["the task paused, ends later: the recheck interval", { paused: true, scope: "task", until: NOW + 60_000, by: "" }, 2_000],
  ];
  for (const [name, d, want] of rows) it(`holdMs(): ${name}`, () => assert.equal(holdMs(d, NOW, 2_000), want));
});

describe("pauseEntry()", () => {
  const put = (key: string, text: string) => ({ key, operation: "PUT", string: () => text });
  it("reads back what encodePause() wrote", () => {
    for (const r of [rec(null, null), rec("add", NOW + 2_000)]) {
      const key = r.task === null ? STREAM_PAUSE_KEY : "task.add";
      assert.deepEqual(pauseEntry(put(key, encodePause(r))), { kind: "pause", key, record: r });
    }
  });
  it("a delete or purge is a resume", () => {
    assert.deepEqual(pauseEntry({ key: "task.add", operation: "DEL", string: () => "" }), { kind: "resume", key: "task.add" });
    assert.deepEqual(pauseEntry({ key: STREAM_PAUSE_KEY, operation: "PURGE", string: () => "" }), { kind: "resume", key: STREAM_PAUSE_KEY });
  });
  const bad: [string, string, string, RegExp][] = [
    ["not JSON", "task.add", "paused", /not JSON/],
    ["an array", "task.add", "[]", /not a JSON object/],
    ["a task under the stream's key", STREAM_PAUSE_KEY, '{"task":"add"}', /does not match the key/],
    ["no task under a task's key", "task.add", '{"task":null}', /does not match the key/],
    ["a task that is not a string", "task.add", '{"task":5}', /'task' must be/],
    ["an until that is not a date", STREAM_PAUSE_KEY, '{"task":null,"until":"soon"}', /'until' is not a date/],
  ];
  for (const [name, key, text, reason] of bad) {
    it(`is invalid: ${name}`, () => {
      const e = pauseEntry(put(key, text));
      assert.equal(e.kind, "invalid");
      assert.match((e as { reason: string }).reason, reason);
    });
  }
});

describe("parseUntil()", () => {
  const rows: [string, number | RegExp][] = [
    ["2027-01-15T08:00:02Z", Date.parse("2027-01-15T08:00:02Z")],
    ["2027-01-15T09:00:00+01:00", Date.parse("2027-01-15T08:00:00Z")],
    ["90s", NOW + 90_000],
    ["+15m", NOW + 900_000],
    ["2h", NOW + 7_200_000],
    ["1d", NOW + 86_400_000],
    ["1.5s", NOW + 1_500],
    ["tomorrow", /must be an ISO 8601 date/],
    ["2027-01-15 08:00", /must be an ISO 8601 date/],
    ["", /must be an ISO 8601 date/],
    ["2020-01-01T00:00:00Z", /must be in the future/],
    ["0s", /must be in the future/],
  ];
  for (const [text, want] of rows) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const now = text.startsWith("2027") ? Date.parse("2027-01-15T07:59:00Z") : NOW;
      const got = parseUntil(text, now);
      if (want instanceof RegExp) assert.match(String(got), want);
      else assert.equal(got, want);
    });
  }
});
