/**
 * Schedule ticks without NATS and without waiting: tick times of `every` and
 * cron schedules (against croner's own run lists, across daylight-saving
 * changes), the checks at start, and which ticks a process fires at a given
 * time (catch-up).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Cron } from "croner";
import {
  countTicks,
  describeSchedule,
  dueTicks,
  FIRING_TIMEOUT_MS,
  firingTimeoutMs,
  latestTick,
  MAX_CATCH_UP,
  nextTick,
  parseSchedule,
  parseSchedules,
  parseTickId,
  tickId,
  ticksBetween,
} from "../../../src/core/schedule.ts";
import type { ScheduleSpec } from "../../../src/core/types.ts";

const T = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NOW = T("2026-11-30T03:27:10.000Z");
const spec = (s: Partial<ScheduleSpec>): ScheduleSpec => ({ every: null, cron: null, tz: "UTC", args: [], catchUp: "latest", ...s });
const every = (seconds: number, o: Partial<ScheduleSpec> = {}) => parseSchedule("ping", 0, spec({ every: seconds, ...o }), NOW);
const cron = (expr: string, tz = "UTC", o: Partial<ScheduleSpec> = {}) => parseSchedule("nightly", 0, spec({ cron: expr, tz, ...o }), NOW);

/** n ticks after `from`, by repeated nextTick(). */
function walk(s: ReturnType<typeof every>, from: number, n: number): string[] {
  const out: string[] = [];
  for (let t: number | null = from; out.length < n;) {
    t = nextTick(s, t!);
    if (t === null) break;
    out.push(iso(t)!);
  }
  return out;
}

describe("every: ticks on whole multiples since the epoch", () => {
  it("nextTick() is the next multiple of `every` strictly after t", () => {
    const s = every(30);
    assert.equal(iso(nextTick(s, NOW)), "2026-11-30T03:27:30.000Z");
    assert.equal(iso(nextTick(s, T("2026-11-30T03:27:30.000Z"))), "2026-11-30T03:28:00.000Z");
    assert.equal(iso(nextTick(s, T("2026-11-30T03:27:29.999Z"))), "2026-11-30T03:27:30.000Z");
  });

  it("every: 7 ticks on multiples of 7 s since the epoch, not of the minute", () => {
    const ticks = walk(every(7), NOW, 3).map(Date.parse);
    for (const t of ticks) assert.equal(t % 7000, 0);
    assert.deepEqual(ticks.map((t, i) => (i === 0 ? 0 : t - ticks[i - 1])), [0, 7000, 7000]);
  });

  it("fractions are allowed: every: 1.5 ticks every 1500 ms", () => {
    assert.deepEqual(walk(every(1.5), T("2026-11-30T00:00:00.000Z"), 3), [
      "2026-11-30T00:00:01.500Z",
      "2026-11-30T00:00:03.000Z",
      "2026-11-30T00:00:04.500Z",
    ]);
  });

  it("ticksBetween() is (a, b]: a excluded, b included, oldest first, the most recent `limit`", () => {
    const s = every(2);
    const a = T("2026-11-30T00:00:00.000Z");
    assert.deepEqual(ticksBetween(s, a, a + 6000).map(iso), [
      "2026-11-30T00:00:02.000Z",
      "2026-11-30T00:00:04.000Z",
      "2026-11-30T00:00:06.000Z",
    ]);
    assert.deepEqual(ticksBetween(s, a, a + 6000, 2).map(iso), ["2026-11-30T00:00:04.000Z", "2026-11-30T00:00:06.000Z"]);
    assert.deepEqual(ticksBetween(s, a, a + 1999), []);
    assert.deepEqual(ticksBetween(s, a + 10, a), []);
    assert.equal(countTicks(s, a, a + 6000), 3);
    assert.equal(countTicks(s, a, a + 3600_000), 1800);
  });

  it("latestTick() is the most recent tick at or before t", () => {
    assert.equal(iso(latestTick(every(30), NOW)), "2026-11-30T03:27:00.000Z");
    assert.equal(iso(latestTick(every(30), T("2026-11-30T03:27:30.000Z"))), "2026-11-30T03:27:30.000Z");
  });
});

describe("cron: croner's tick times, in the schedule's time zone", () => {
  it("cron with seconds and a time zone: nextTick() walks croner's own nextRuns()", () => {
    const s = cron("*/5 * * * * *", "Europe/Berlin");
    assert.deepEqual(walk(s, NOW, 4), [
      "2026-11-30T03:27:15.000Z",
      "2026-11-30T03:27:20.000Z",
      "2026-11-30T03:27:25.000Z",
      "2026-11-30T03:27:30.000Z",
    ]);
    const own = new Cron("*/5 * * * * *", { timezone: "Europe/Berlin" }).nextRuns(50, new Date(NOW)).map((d) => d.toISOString());
    assert.deepEqual(walk(s, NOW, 50), own);
  });

  const dst: [string, string, string, string, string[]][] = [
    // [what, expression, zone, from, ticks]
    ["03:00 daily, spring forward (CET -> CEST)", "0 3 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", [
      "2026-03-28T02:00:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T01:00:00.000Z",
    ]],
    ["03:00 daily, fall back (CEST -> CET)", "0 3 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", [
      "2026-10-24T01:00:00.000Z",
      "2026-10-25T02:00:00.000Z",
      "2026-10-26T02:00:00.000Z",
    ]],
    ["02:30 daily, which does not exist on the spring day: runs at 03:00 local", "30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", [
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]],
    ["02:30 daily, which happens twice on the fall day: runs once", "30 2 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", [
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]],
    ["every 30 min with seconds, through the fall-back night: no gap, no repeat in UTC", "0 */30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", [
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:30:00.000Z",
      "2026-10-25T02:00:00.000Z",
    ]],
    ["09:00 on weekdays in New York, across its spring change", "0 9 * * 1-5", "America/New_York", "2026-03-06T00:00:00Z", [
      "2026-03-06T14:00:00.000Z",
      "2026-03-09T13:00:00.000Z",
      "2026-03-10T13:00:00.000Z",
    ]],
  ];
  for (const [what, expr, tz, from, ticks] of dst) {
    it(`daylight saving: ${what}`, () => {
      const s = cron(expr, tz);
      assert.deepEqual(walk(s, T(from), ticks.length), ticks);
      const own = new Cron(expr, { timezone: tz }).nextRuns(ticks.length, new Date(T(from))).map((d) => d.toISOString());
      assert.deepEqual(own, ticks, "croner's nextRuns() agrees");
      // Looking back from the last tick gives the same list: catch-up and firing agree.
      assert.deepEqual(ticksBetween(s, T(from), T(ticks.at(-1)!)).map(iso), ticks);
    });
  }

  it("the 5-field form runs on whole minutes in UTC by default", () => {
    const s = cron("*/15 * * * *");
    assert.deepEqual(walk(s, NOW, 2), ["2026-11-30T03:30:00.000Z", "2026-11-30T03:45:00.000Z"]);
    assert.equal(countTicks(s, NOW, T("2026-11-30T05:00:00Z")), 7);
  });
});

describe("parseSchedule(): bad schedules fail at start with one line naming the task", () => {
  const bad: [string, Partial<ScheduleSpec>, RegExp][] = [
    ["every: 0", { every: 0 }, /^Cannot start worker as task 'ping' schedule 0 'every' must be a number of seconds >= 1: current value is "0"$/],
    ["every: 0.5", { every: 0.5 }, /'every' must be a number of seconds >= 1: current value is "0.5"$/],
    ["every as text", { every: "30" as never }, /'every' must be a number of seconds >= 1: current value is "30"$/],
    ["neither every nor cron", {}, /schedule 0 must be an object with either 'every' or 'cron': current value is \{\}$/],
    ["both every and cron", { every: 5, cron: "* * * * *" }, /either 'every' or 'cron'/],
    ["a bad cron string", { cron: "every day" }, /'cron' must be a cron expression of 5 fields, or 6 with seconds first: current value is "every day"$/],
    ["a bad cron field", { cron: "0 3 * * funday" }, /'cron' must be a cron expression of 5 fields, or 6 with seconds first \(.+\): current value is "0 3 \* \* funday"$/],
    ["a cron with 7 fields", { cron: "0 0 0 1 1 * 2030" }, /'cron' must be a cron expression of 5 fields/],
    ["a cron value out of range", { cron: "61 * * * *" }, /minute.*: current value is "61 \* \* \* \*"$/],
    ["a cron that never fires", { cron: "0 0 30 2 *" }, /that fires again: current value is "0 0 30 2 \*"$/],
    ["an unknown time zone", { cron: "0 3 * * *", tz: "Mars/Olympus" }, /'tz' must be an IANA time zone such as "Europe\/Berlin": current value is "Mars\/Olympus"$/],
    ["args not an array", { every: 5, args: "eu" as never }, /'args' must be an array: current value is "eu"$/],
    ["an unknown catchUp", { every: 5, catchUp: "some" as never }, /'catchUp' must be "latest", "none" or "all": current value is "some"$/],
  ];
  for (const [what, s, pattern] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parseSchedule("ping", 0, spec(s), NOW), (e: Error) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, e.name);
        assert.doesNotMatch(e.message, /\n/);
        assert.match(e.message, /task 'ping' schedule 0/);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }

  it("parseSchedules() numbers each task's schedules in declaration order", () => {
    const list = parseSchedules({
      both: { schedules: [spec({ every: 60 }), spec({ cron: "*/5 * * * * *", args: [1] })] },
      plain: { schedules: [] },
      old: {},
    }, NOW);
    assert.deepEqual(list.map((s) => [s.task, s.index, describeSchedule(s.spec)]), [
      ["both", 0, "every 60s"],
      ["both", 1, "cron */5 * * * * * (UTC)"],
    ]);
    assert.throws(() => parseSchedules({ x: { schedules: [spec({ every: 5 }), spec({ every: 0 })] } }, NOW), /task 'x' schedule 1 'every'/);
  });
});

describe("tick ids", () => {
  it("tickId() is <task>@<index>@<ISO time>, and parseTickId() reads it back", () => {
    const id = tickId("ping", 0, T("2026-11-30T03:27:30Z"));
    assert.equal(id, "ping@0@2026-11-30T03:27:30.000Z");
    assert.deepEqual(parseTickId(id), { task: "ping", index: 0, tick: T("2026-11-30T03:27:30Z") });
    assert.equal(parseTickId("a-uuid"), null);
  });
});

describe("dueTicks(): what a process fires at `now`", () => {
  const s2 = (catchUp: ScheduleSpec["catchUp"]) => every(2, { catchUp });
  const at = T("2026-11-30T00:00:07.300Z");
  const lastBefore3 = T("2026-11-30T00:00:00.000Z"); // missed 02, 04, 06
  const table: [string, ScheduleSpec["catchUp"], number | null, number | null, string[], number][] = [
    // [what, catchUp, last fired, cursor, fire, skipped]
    ["never fired: nothing now, starts at its next tick", "latest", null, null, [], 0],
    ["never fired, catchUp all: nothing to catch up", "all", null, null, [], 0],
    ["3 missed, latest: the most recent, once", "latest", lastBefore3, null, ["2026-11-30T00:00:06.000Z"], 2],
    ["3 missed, none: nothing", "none", lastBefore3, null, [], 3],
    ["3 missed, all: each", "all", lastBefore3, null, ["2026-11-30T00:00:02.000Z", "2026-11-30T00:00:04.000Z", "2026-11-30T00:00:06.000Z"], 0],
    ["up to date at start: nothing", "latest", T("2026-11-30T00:00:06.000Z"), null, [], 0],
    ["running, the tick it waited for", "none", T("2026-11-30T00:00:04.000Z"), T("2026-11-30T00:00:05.000Z"), ["2026-11-30T00:00:06.000Z"], 0],
    ["running, another process fired it already", "latest", T("2026-11-30T00:00:06.000Z"), T("2026-11-30T00:00:05.000Z"), [], 0],
    ["running after a stall, latest: only the current tick", "latest", null, T("2026-11-30T00:00:01.000Z"), ["2026-11-30T00:00:06.000Z"], 2],
    ["running after a stall, all: each", "all", null, T("2026-11-30T00:00:01.000Z"), ["2026-11-30T00:00:02.000Z", "2026-11-30T00:00:04.000Z", "2026-11-30T00:00:06.000Z"], 0],
    ["last fired ahead of this clock: nothing", "latest", T("2026-11-30T00:00:10.000Z"), null, [], 0],
  ];
  for (const [what, catchUp, last, cursor, fire, skipped] of table) {
    it(what, () => {
      const d = dueTicks(s2(catchUp), { last, cursor }, at);
      assert.deepEqual(d.fire.map(iso), fire);
      assert.equal(d.skipped, skipped);
      assert.equal(d.cursor, Math.max(at, last ?? -Infinity, cursor ?? -Infinity));
    });
  }

  it("catchUp all fires at most 100 missed ticks, the most recent", () => {
    const d = dueTicks(every(1, { catchUp: "all" }), { last: at - 1000_000, cursor: null }, at);
    assert.equal(d.fire.length, MAX_CATCH_UP);
    assert.equal(iso(d.fire.at(-1)!), "2026-11-30T00:00:07.000Z");
    assert.equal(iso(d.fire[0]), "2026-11-29T23:58:28.000Z");
    assert.equal(d.skipped, 900);
  });

  it("cron catch-up: the latest missed 03:00 in Berlin after two days down", () => {
    const s = cron("0 3 * * *", "Europe/Berlin");
    const d = dueTicks(s, { last: T("2026-10-24T01:00:00Z"), cursor: null }, T("2026-10-26T12:00:00Z"));
    assert.deepEqual(d.fire.map(iso), ["2026-10-26T02:00:00.000Z"]);
    assert.equal(d.skipped, 1);
  });
});


describe("firingTimeoutMs(): a firing request gives up before the next tick is due", () => {
  const table: [string, ReturnType<typeof every>[], number][] = [
    ["every second: a second", [every(1)], 1000],
    ["every 3 s: 3 s", [every(3)], 3000],
    ["every minute: the connection's 5 s", [every(60)], 5000],
    ["cron every minute: 5 s", [cron("* * * * *")], 5000],
    ["the shortest of several: every 2 s beside every minute", [every(60), every(2)], 2000],
    ["no schedule: 5 s", [], 5000],
  ];
  for (const [what, schedules, want] of table) {
    it(what, () => assert.equal(firingTimeoutMs(schedules, NOW), want));
  }

  it("never under a second: ticks 200 ms apart still get a second", () => {
    const fast = { ...every(1), after: (t: number) => Math.floor(t / 200) * 200 + 200 };
    assert.equal(firingTimeoutMs([fast], NOW), FIRING_TIMEOUT_MS.min);
  });

  it("a schedule with no tick after now leaves the connection's timeout", () => {
    const over = { ...every(1), after: () => null };
    assert.equal(firingTimeoutMs([over], NOW), FIRING_TIMEOUT_MS.max);
  });
});
