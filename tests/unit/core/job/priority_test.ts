// Priorities: the subject of each level, and which level the next pull goes to
// (highest first, a floor for the lower ones, nothing starves).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  checkPriority,
  chooseLevel,
  freshHistory,
  type LevelChoice,
  type PullHistory,
  recordPull,
  recordTaken,
  splitPrioritySubject,
} from "../../../../src/core/job/priority.ts";

/** A pull chosen as `c` that brought `n` jobs. */
const take = (h: PullHistory, c: LevelChoice, n: number): PullHistory => {
  h = recordPull(h, c);
  for (let i = 0; i < n; i++) h = recordTaken(h, c);
  return h;
};

const waitingOn = (...levels: number[]): boolean[] => Array.from({ length: 10 }, (_, l) => levels.includes(l));

describe("checkPriority()", () => {
  for (const v of [0, 5, 9]) it(`takes ${v}`, () => assert.equal(checkPriority(v), v));
  for (const v of [-1, 10, 2.5, "3", null, NaN]) {
    it(`refuses ${String(v)} with one line`, () => {
      assert.throws(() => checkPriority(v), (e: Error) => e instanceof RangeError && /from 0 to 9: current value is/.test(e.message));
    });
  }
});

describe("splitPrioritySubject()", () => {
  const rows: [string, number, string][] = [
    ["p9.send", 9, "send"],
    ["p0.send", 0, "send"],
    ["send", 5, "send"],
    ["p1", 5, "p1"], // a task named p1 on the plain subject
    ["px.send", 5, "px.send"],
    ["pp", 5, "pp"],
  ];
  for (const [rest, priority, task] of rows) {
    it(`reads '${rest}' as priority ${priority}, task '${task}'`, () => assert.deepEqual(splitPrioritySubject(rest), { priority, task }));
  }
});

describe("chooseLevel()", () => {
  const rows: [string, boolean[], number, number | null, boolean][] = [
    // name, waiting, jobs since floor, level (null: none), floor
    ["nothing waits", waitingOn(), 0, null, false],
    ["the only waiting level", waitingOn(0), 100, 0, false],
    ["highest first", waitingOn(0, 5, 9), 0, 9, false],
    ["highest first until the floor", waitingOn(0, 9), 7, 9, false],
    ["the floor gives a lower level a turn", waitingOn(0, 9), 8, 0, true],
    ["the floor never goes to the top level", waitingOn(9), 50, 9, false],
  ];
  for (const [name, waiting, sinceFloor, level, floor] of rows) {
    it(name, () => {
      const c = chooseLevel(waiting, { ...freshHistory(), sinceFloor });
      assert.equal(c?.level ?? null, level);
      if (c) assert.equal(c.floor, floor);
    });
  }

  it("the floor goes to the lower level served longest ago", () => {
    const h: PullHistory = { sinceFloor: 8, pulls: 10, servedAt: [7, -1, -1, 3, -1, -1, -1, -1, -1, 9] };
    assert.equal(chooseLevel(waitingOn(0, 3, 9), h)?.level, 3);
  });

  it("a pull may ask for no more than the rest of the floor's count, and one on a floor turn", () => {
    assert.equal(chooseLevel(waitingOn(9), { ...freshHistory(), sinceFloor: 3 })?.max, Infinity);
    assert.equal(chooseLevel(waitingOn(0, 9), { ...freshHistory(), sinceFloor: 3 })?.max, 5);
    assert.equal(chooseLevel(waitingOn(0, 9), { ...freshHistory(), sinceFloor: 8 })?.max, 1);
  });

  it("a floor turn comes after FLOOR_EVERY jobs even when pulls ask for many", () => {
    let h = freshHistory();
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = chooseLevel(waitingOn(0, 9), h)!;
      const taken = Math.min(c.max, 100);
      order.push(c.level, taken);
      h = take(h, c, taken);
    }
    assert.deepEqual(order, [9, 8, 0, 1, 9, 8, 0, 1]);
  });

  it("a floor turn that finds its level empty passes to the next lower level served longest ago", () => {
    let h: PullHistory = { ...freshHistory(), sinceFloor: 8 };
    const first = chooseLevel(waitingOn(0, 4, 9), h)!;
    assert.deepEqual([first.level, first.floor], [4, true]);
    h = take(h, first, 0); // level 4 was empty
    const second = chooseLevel(waitingOn(0, 9), h)!;
    assert.deepEqual([second.level, second.floor], [0, true]);
    h = take(h, second, 1);
    assert.equal(h.sinceFloor, 0);
    assert.equal(chooseLevel(waitingOn(0, 9), h)!.level, 9);
  });

  it("jobs count toward the floor only while a lower level waits", () => {
    let h = freshHistory();
    const c = chooseLevel(waitingOn(9), h)!;
    h = take(h, c, 20);
    assert.equal(h.sinceFloor, 0);
    assert.deepEqual(chooseLevel(waitingOn(0, 9), h), { level: 9, floor: false, contested: true, max: 8 });
  });

  it("strict order when jobs are few: high levels drain before the floor turns", () => {
    // 3 jobs at each of 9, 5 and 0, one job a pull.
    const left = new Map([[9, 3], [5, 3], [0, 3]]);
    let h = freshHistory();
    const order: number[] = [];
    for (;;) {
      const c = chooseLevel(waitingOn(...[...left].filter(([, n]) => n > 0).map(([l]) => l)), h);
      if (!c) break;
      order.push(c.level);
      left.set(c.level, left.get(c.level)! - 1);
      h = take(h, c, 1);
    }
    assert.deepEqual(order, [9, 9, 9, 5, 5, 5, 0, 0, 0]);
  });

  it("nothing starves over a long sequence while every level keeps work", () => {
    let h = freshHistory();
    const got = new Array(10).fill(0);
    const all = waitingOn(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    for (let i = 0; i < 9 * 9 * 10; i++) {
      const c = chooseLevel(all, h)!;
      got[c.level]++;
      h = take(h, c, 1);
    }
    // One pull in 9 is a floor turn, and the 9 lower levels take those turns in rotation.
    assert.equal(got[9], 9 * 8 * 10);
    for (let l = 0; l < 9; l++) assert.equal(got[l], 10, `level ${l}`);
  });

  it("a floor turn gives the lower level one job in FLOOR_EVERY + 1 under a steady high load", () => {
    let h = freshHistory();
    let low = 0;
    for (let i = 0; i < 900; i++) {
      const c = chooseLevel(waitingOn(1, 8), h)!;
      if (c.level === 1) low++;
      h = take(h, c, 1);
    }
    assert.equal(low, 100);
  });
});
