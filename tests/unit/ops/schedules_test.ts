/**
 * The rows of `qw schedule ls`, built from stored records alone: next fire
 * time, last tick, its job id and state.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatSchedules, scheduleRow } from "../../../src/ops/schedules.ts";
import type { ScheduleRecord } from "../../../src/client/buckets/schedule_store.ts";

const NOW = Date.parse("2026-11-30T03:27:10.000Z");
const ping: ScheduleRecord = { task: "ping", index: 0, every: 30, cron: null, tz: "UTC", args: ["eu"], catchUp: "latest", lastTick: "2026-11-30T03:27:00.000Z" };
const nightly: ScheduleRecord = { task: "nightly", index: 0, every: null, cron: "0 3 * * *", tz: "Europe/Berlin", args: [], catchUp: "none", lastTick: null };

describe("scheduleRow()", () => {
  it("names the next tick, the last tick, its job id and its state", () => {
    assert.deepEqual(scheduleRow(ping, "SUCCESS", NOW), {
      task: "ping",
      index: 0,
      spec: "every 30s",
      tz: "UTC",
      catchUp: "latest",
      args: ["eu"],
      next: "2026-11-30T03:27:30.000Z",
      lastTick: "2026-11-30T03:27:00.000Z",
      lastId: "ping@0@2026-11-30T03:27:00.000Z",
      state: "SUCCESS",
    });
    assert.equal(scheduleRow(ping, null, NOW).state, "PENDING", "no result yet");
  });

  it("a schedule that never fired has no last tick and no state; cron runs in its time zone", () => {
    const row = scheduleRow(nightly, null, NOW);
    assert.equal(row.spec, "0 3 * * *");
    assert.equal(row.next, "2026-12-01T02:00:00.000Z");
    assert.equal(row.lastTick, null);
    assert.equal(row.lastId, null);
    assert.equal(row.state, null);
  });

  it("a record it cannot read still lists, without a next time", () => {
    assert.equal(scheduleRow({ ...nightly, cron: "nonsense" }, null, NOW).next, null);
  });
});

describe("formatSchedules()", () => {
  it("is a table with one line per schedule, and says so when there is none", () => {
    const text = formatSchedules([scheduleRow(ping, "SUCCESS", NOW), scheduleRow(nightly, null, NOW)]);
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^task\s+schedule\s+spec\s+tz\s+next\s+last tick\s+state$/);
    assert.match(lines[1], /^ping\s+0\s+every 30s\s+UTC\s+2026-11-30T03:27:30.000Z\s+2026-11-30T03:27:00.000Z\s+SUCCESS$/);
    assert.match(lines[2], /^nightly\s+0\s+0 3 \* \* \*\s+Europe\/Berlin\s+2026-12-01T02:00:00.000Z\s+never\s+-$/);
    assert.match(formatSchedules([]), /^No schedules/);
  });
});
