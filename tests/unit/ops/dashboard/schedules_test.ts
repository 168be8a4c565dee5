/** Schedule rows from stored values of any shape that has a task. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { scheduleRow } from "../../../../src/ops/dashboard/schedules.ts";

const NOW = Date.parse("2030-01-01T12:00:07Z");

describe("scheduleRow()", () => {
  test("every N seconds: the next whole multiple since the epoch", () => {
    assert.deepEqual(scheduleRow("report.0", { task: "report", index: 0, every: 60, cron: null, tz: "UTC", lastTick: "2030-01-01T12:00:00.000Z" }, NOW), {
      key: "report.0", task: "report", spec: "every 60 s", next: "2030-01-01T12:01:00.000Z", lastTick: "2030-01-01T12:00:00.000Z",
    });
  });

  test("cron: the spec with its zone; the next tick only when the record has one", () => {
    const cron = { task: "nightly", every: null, cron: "0 3 * * *", tz: "Europe/Paris", lastTick: null };
    assert.deepEqual(scheduleRow("k", cron, NOW), { key: "k", task: "nightly", spec: "cron 0 3 * * * (Europe/Paris)", next: null, lastTick: null });
    assert.equal(scheduleRow("k", { ...cron, next: "2030-01-02T02:00:00Z" }, NOW)?.next, "2030-01-02T02:00:00Z");
    assert.equal(scheduleRow("k", { task: "t", spec: "@hourly" }, NOW)?.spec, "@hourly");
  });

  test("values without a task are not schedules", () => {
    for (const v of [null, 3, "x", [], { every: 5 }, { task: 7 }]) assert.equal(scheduleRow("k", v, NOW), null);
  });
});
