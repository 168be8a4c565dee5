/**
 * The fault soup's concurrency keys (tests/helpers/fault_soup_keys.ts): which
 * seeds key which jobs, the pairing of recorded starts and ends into runs, and
 * the check that no key runs more than its limit at once.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KEY_LIMITS, KEYED, keyedDraws, keyOverlaps, type KeyRun, keyRuns } from "../helpers/fault_soup_keys.ts";
import { lostKeyedRun, ORACLE, type Seen, type SoupJob, soupCase } from "../helpers/fault_soup_case.ts";

describe("fault soup keys: the draw", () => {
  const cases = Array.from({ length: 200 }, (_, i) => soupCase(i + 1));

  it("about half the seeds key some jobs, over 1-4 keys, with keyless and routed jobs among them", () => {
    const keyed = cases.filter((c) => c.jobs.some((j) => j.key !== undefined));
    assert.ok(keyed.length >= 70 && keyed.length <= 130, `${keyed.length} of 200 seeds have keys`);
    const jobs = keyed.flatMap((c) => c.jobs.filter((j) => j.key !== undefined));
    assert.ok(jobs.some((j) => j.key!.key === null), "some keyless (the task's one key)");
    assert.ok(jobs.some((j) => j.key!.key !== null && j.key!.onKeySubject), "some on their key's subject");
    assert.ok(jobs.some((j) => j.key!.key !== null && !j.key!.onKeySubject), "some with the header alone");
    assert.ok(jobs.every((j) => j.key!.key !== null || !j.key!.onKeySubject), "a keyless job goes on its task's subject");
    assert.deepEqual(new Set(jobs.map((j) => j.behaviour)), new Set(KEYED));
    for (const c of keyed) {
      const keys = new Set(c.jobs.flatMap((j) => j.key?.key != null ? [j.key.key] : []));
      assert.ok(keys.size <= 4, `seed ${c.seed} has ${keys.size} keys`);
    }
  });

  it("keyed jobs come after every earlier job and are never revoked or paused by task, so a seed keeps its case", () => {
    for (const c of cases) {
      const first = c.jobs.findIndex((j) => j.key !== undefined);
      const plain = first === -1 ? c.jobs : c.jobs.slice(0, first);
      assert.ok(c.jobs.slice(plain.length).every((j) => j.key !== undefined && j.id.startsWith("k")), `seed ${c.seed}`);
      assert.ok(plain.every((j, i) => j.id === `j${i}` && j.key === undefined && !(KEYED as readonly string[]).includes(j.behaviour)));
      for (const id of [...c.revokeDone, ...c.revokeWaiting]) assert.ok(id.startsWith("j"), `seed ${c.seed} revokes ${id}`);
      for (const p of c.pauses) assert.ok(p.task === null || !(KEYED as readonly string[]).includes(p.task));
    }
  });

  it("keys come with either ack wait and with or without restarts: the key draw does not follow the seed's parity", () => {
    const keyed = cases.filter((c) => c.jobs.some((j) => j.key !== undefined));
    for (const [what, f] of [["ack wait 1 s", (c: typeof cases[0]) => c.ackWait === 1], ["a rolling restart", (c: typeof cases[0]) => c.restarts.length > 0]] as const) {
      const n = keyed.filter(f).length;
      assert.ok(n >= keyed.length / 4 && n <= (keyed.length * 3) / 4, `${n} of ${keyed.length} keyed seeds have ${what}`);
    }
    assert.ok(keyed.some((c) => c.seed % 2 === 0) && keyed.some((c) => c.seed % 2 === 1));
  });

  it("the same seed draws the same keyed jobs", () => {
    for (let seed = 1; seed <= 50; seed++) assert.deepEqual(keyedDraws(seed), keyedDraws(seed));
  });

  it("KEY_LIMITS are the limits the fixture's keyed tasks set", () => {
    const source = readFileSync(new URL("../fixtures/tasks/soup.ts", import.meta.url), "utf8");
    const set = Object.fromEntries([...source.matchAll(/export const (\w+) = task\(\{ concurrency: \{ limit: (\d+) \}/g)].map((m) => [m[1], Number(m[2])]));
    assert.deepEqual(set, KEY_LIMITS);
  });
});

describe("fault soup keys: runs", () => {
  const cases: Array<[string, number[], number[], Array<[number, number | null]>]> = [
    ["one run with its end", [100], [150], [[100, 150]]],
    ["a retry: two runs, two ends", [300, 100], [150, 350], [[100, 150], [300, 350]]],
    ["the first run died: no end before the next start", [100, 300], [350], [[100, null], [300, 350]]],
    ["the last run died", [100, 300], [150], [[100, 150], [300, null]]],
    ["an end the same millisecond it started", [100], [100], [[100, 100]]],
    ["no run", [], [], []],
  ];
  for (const [what, starts, ends, want] of cases) {
    it(`keyRuns(): ${what}`, () => {
      assert.deepEqual(keyRuns("k0", starts, ends), want.map(([start, end]) => ({ job: "k0", start, end })));
    });
  }
});

describe("fault soup keys: overlaps", () => {
  const run = (job: string, start: number, end: number | null): KeyRun => ({ job, start, end });
  const table: Array<[string, KeyRun[], number, Array<[number, number, string[]]>]> = [
    // [what, runs, limit, overlaps as [at, running, jobs]]
    ["one at a time, limit 1", [run("a", 0, 10), run("b", 11, 20)], 1, []],
    ["touching runs (an end and a start the same ms), limit 1", [run("a", 0, 10), run("b", 10, 20)], 1, []],
    ["two at once, limit 1", [run("a", 0, 10), run("b", 5, 20)], 1, [[5, 2, ["a", "b"]]]],
    ["two at once, limit 2", [run("a", 0, 10), run("b", 5, 20)], 2, []],
    ["three at once, limit 2", [run("a", 0, 10), run("b", 5, 20), run("c", 8, 9)], 2, [[8, 3, ["a", "b", "c"]]]],
    ["runs given out of order", [run("b", 5, 20), run("a", 0, 10)], 1, [[5, 2, ["a", "b"]]]],
    ["a run without an end holds its slot for the ack wait", [run("a", 0, null), run("b", 500, 600)], 1, [[500, 2, ["a", "b"]]]],
    ["and no longer: its slot frees at the ack wait", [run("a", 0, null), run("b", 1_000, 1_100)], 1, []],
    ["a retry of one job after its first run ended", [run("a", 0, 10), run("a", 12, 20)], 1, []],
  ];
  for (const [what, runs, limit, want] of table) {
    it(`keyOverlaps(): ${what} -> ${want.length === 0 ? "none" : want.map(([at, n]) => `${n} at ${at}`).join(", ")}`, () => {
      assert.deepEqual(keyOverlaps(runs, limit, 1_000), want.map(([at, running, jobs]) => ({ at, running, jobs })));
    });
  }
});

describe("fault soup keys: a lost early-ack keyed run", () => {
  const job = (behaviour: SoupJob["behaviour"], keyed = true): SoupJob => ({
    id: "k0", behaviour, args: [], phase: "before", gapMs: 0, priority: 5, ...(keyed ? { key: { key: "t", onKeySubject: true } } : {}),
  });
  const lost: Seen = { runs: 1, state: "FAILURE", error: "WorkerLostError", deadLetters: 0 };
  const rows: Array<[string, SoupJob, Seen, boolean, boolean]> = [
    ["early ack, keyed, a process died", job("keyedSlow"), lost, true, true],
    ["the retry lost after the first run", job("keyedRetry"), { ...lost, runs: 2 }, true, true],
    ["no process died", job("keyedSlow"), lost, false, false],
    ["acksLate: it runs again, never lost", job("keyedLate"), lost, true, false],
    ["not keyed", job("succeed", false), lost, true, false],
    ["more runs than the oracle's", job("keyedSlow"), { ...lost, runs: 2 }, true, false],
    ["another error", job("keyedSlow"), { ...lost, error: "TypeError" }, true, false],
    ["dead-lettered", job("keyedSlow"), { ...lost, deadLetters: 1 }, true, false],
  ];
  for (const [what, j, s, died, want] of rows) {
    it(`lostKeyedRun(): ${what} -> ${want}`, () => {
      assert.equal(lostKeyedRun(j, s, died), want);
      assert.ok(ORACLE[j.behaviour] !== undefined);
    });
  }
});
