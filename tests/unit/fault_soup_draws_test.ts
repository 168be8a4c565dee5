/**
 * The seeds of the fault soup's draws (tests/helpers/fault_soup_draws.ts):
 * each draw of a case is seeded by a hash of the case's seed, so what one
 * draw picks says nothing of what another does, whatever the seed's parity.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DRAW, drawSeed } from "../helpers/fault_soup_draws.ts";
import { type SoupCase, soupCase } from "../helpers/fault_soup_case.ts";

describe("fault soup draws: drawSeed()", () => {
  it("drawSeed() is the same for the same seed and salt, a 32-bit integer", () => {
    for (let seed = -5; seed <= 50; seed++) {
      const s = drawSeed(seed, DRAW.faults);
      assert.equal(s, drawSeed(seed, DRAW.faults));
      assert.ok(Number.isInteger(s) && s >= -(2 ** 31) && s < 2 ** 31, `${seed} -> ${s}`);
    }
  });

  it("drawSeed() gives each draw of a seed its own seed", () => {
    const salts = Object.values(DRAW);
    assert.equal(new Set(salts).size, salts.length);
    for (let seed = 1; seed <= 200; seed++) {
      assert.equal(new Set(salts.map((salt) => drawSeed(seed, salt))).size, salts.length, `seed ${seed}`);
    }
  });

  it("drawSeed()'s lowest bit does not follow the seed's: of each draw's seeds over 1-200, 35-65 % are odd, on odd and even seeds alike", () => {
    for (const [draw, salt] of Object.entries(DRAW)) {
      for (const parity of [0, 1]) {
        const seeds = Array.from({ length: 100 }, (_, i) => 2 * i + 1 + parity);
        const odd = seeds.filter((s) => (drawSeed(s, salt) & 1) === 1).length;
        assert.ok(odd >= 35 && odd <= 65, `${draw}: ${odd} of 100 ${parity ? "even" : "odd"} seeds draw an odd seed`);
      }
    }
  });

  it("the key draw keeps the seed it had (a keyed seed keeps its keyed jobs)", () => {
    // drawSeed(seed, DRAW.keys) is the key draw's hash from before every draw was hashed: pinned on three seeds.
    assert.deepEqual([1, 54, 100].map((s) => drawSeed(s, DRAW.keys)), [1, 54, 100].map(keySeedBefore));
  });
});

/** The key draw's seed as fault_soup_keys.ts computed it before drawSeed() was shared. */
function keySeedBefore(seed: number): number {
  let h = Math.imul((seed ^ 0x4e75) ^ ((seed ^ 0x4e75) >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) | 0;
}

describe("fault soup draws: independence over seeds 1-200", () => {
  const cases = Array.from({ length: 200 }, (_, i) => soupCase(i + 1));
  const traits: Array<[string, (c: SoupCase) => boolean]> = [
    ["ack wait 1 s", (c) => c.ackWait === 1],
    ["rolling restarts", (c) => c.restarts.length > 0],
    ["pauses", (c) => c.pauses.length > 0],
    ["priorities", (c) => c.jobs.some((j) => j.priority !== 5)],
    ["a results outage", (c) => c.outage !== null],
    ["keys", (c) => c.jobs.some((j) => j.key !== undefined)],
    ["revoked finished", (c) => c.revokeDone.length > 0],
    ["revoked waiting", (c) => c.revokeWaiting.length > 0],
    ["concurrency 4", (c) => c.concurrency === 4],
    ["a limits stream", (c) => c.kind === "limits"],
  ];
  for (let a = 0; a < traits.length; a++) {
    for (let b = a + 1; b < traits.length; b++) {
      const [na, fa] = traits[a], [nb, fb] = traits[b];
      it(`every pairing of ${na} (yes/no) and ${nb} (yes/no) comes with at least 10 % of the seeds`, () => {
        for (const x of [true, false]) {
          for (const y of [true, false]) {
            const n = cases.filter((c) => fa(c) === x && fb(c) === y).length;
            assert.ok(n >= 20, `${n} of 200 seeds have ${x ? "" : "no "}${na} and ${y ? "" : "no "}${nb}`);
          }
        }
      });
    }
  }
});
