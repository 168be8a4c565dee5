import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { atSchedule, delayForm, delayHolder, heldJobIds, heldJobOf, MAX_SCHEDULE_TOKEN, scheduleToken } from "../../../../src/core/job/delay_hold.ts";

describe("delayHolder()", () => {
  const cases: [string | undefined, boolean | undefined, "server" | "qw"][] = [
    ["2.9.10", true, "qw"],
    ["2.9.10", undefined, "qw"],
    ["2.11.4", true, "qw"],
    ["2.12.0", true, "server"],
    ["2.12.0", false, "qw"],
    ["2.12.0", undefined, "qw"],
    ["2.15.3", true, "server"],
    ["v2.15.3", true, "server"],
    ["2.15.3", false, "qw"],
    [undefined, true, "qw"],
    ["garbage", true, "qw"],
  ];
  for (const [version, flag, want] of cases) {
    it(`delayHolder(${JSON.stringify(version)}, allow_msg_schedules ${flag}) is ${want}`, () => {
      assert.equal(delayHolder(version, flag), want);
    });
  }
});

describe("delayForm()", () => {
  const now = 1_767_225_600_000;
  const long = "x".repeat(MAX_SCHEDULE_TOKEN);
  const cases: [string, "server" | "qw", number | null, string, "now" | "server" | "qw"][] = [
    ["no eta runs now", "server", null, "a", "now"],
    ["an eta in the past runs now", "server", now - 1, "a", "now"],
    ["an eta of exactly now runs now", "server", now, "a", "now"],
    ["a future eta is held by the server", "server", now + 1, "a", "server"],
    ["a future eta is held by qw on a qw stream", "qw", now + 10_000, "a", "qw"],
    ["an eta in the past on a qw stream runs now", "qw", now - 10_000, "a", "now"],
    ["a dedup id too long for a subject is held by qw", "server", now + 10_000, long, "qw"],
  ];
  for (const [name, holder, etaMs, dedupId, want] of cases) {
    it(`delayForm(): ${name}`, () => {
      assert.equal(delayForm(holder, { etaMs, dedupId }, now), want);
    });
  }
});

describe("scheduleToken()", () => {
  const cases: [string, string][] = [
    ["img-42:eta", "aW1nLTQyOmV0YQ"],
    ["order-42:1:eta", "b3JkZXItNDI6MTpldGE"],
    // Characters no subject token may hold come out as base64url.
    ["a.b *>?", "YS5iICo-Pw"],
    ["ü", "w7w"],
  ];
  for (const [id, want] of cases) {
    it(`scheduleToken(${JSON.stringify(id)}) is ${want}`, () => {
      assert.equal(scheduleToken(id), want);
      assert.match(scheduleToken(id), /^[A-Za-z0-9_-]+$/);
    });
  }
  it("scheduleToken() gives different ids different tokens", () => {
    assert.notEqual(scheduleToken("a:eta"), scheduleToken("a:1:eta"));
  });
});

describe("atSchedule()", () => {
  it("atSchedule() writes RFC 3339 in UTC with milliseconds", () => {
    assert.equal(atSchedule(1_767_225_610_000), "@at 2026-01-01T00:00:10.000Z");
    assert.equal(atSchedule(1_767_225_610_123.6), "@at 2026-01-01T00:00:10.124Z");
  });
});

describe("heldJobOf()", () => {
  const cases: [string, { task: string; dedupId: string } | null][] = [
    [`jobs._sched.resize.${scheduleToken("img-42:eta")}`, { task: "resize", dedupId: "img-42:eta" }],
    [`jobs._sched.add.${scheduleToken("a.b *>?:3:eta")}`, { task: "add", dedupId: "a.b *>?:3:eta" }],
    ["jobs._delayed.add", null],
    ["jobs.add", null],
    ["other._sched.add.YQ", null],
    ["jobs._sched.add", null],
    ["jobs._sched.add.YQ.extra", null],
    ["jobs._sched.add.!!", null],
    // Not UTF-8: 0xff.
    ["jobs._sched.add._w", null],
  ];
  for (const [subject, want] of cases) {
    it(`heldJobOf("jobs", ${JSON.stringify(subject)})`, () => {
      assert.deepEqual(heldJobOf("jobs", subject), want);
    });
  }
});

describe("heldJobIds()", () => {
  const cases: [string, string[]][] = [
    ["img-42:eta", ["img-42"]],
    ["order-42:1:eta", ["order-42:1", "order-42"]],
    ["order-42:2:eta:rl:17", ["order-42:2", "order-42"]],
    ["order-42:eta:rl:17", ["order-42"]],
    ["a:b:eta", ["a:b"]],
    ["order-42", []],
    ["order-42:1", []],
  ];
  for (const [dedupId, want] of cases) {
    it(`heldJobIds(${JSON.stringify(dedupId)}) is ${JSON.stringify(want)}`, () => {
      assert.deepEqual(heldJobIds(dedupId), want);
    });
  }
});
