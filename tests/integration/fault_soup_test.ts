/**
 * The fault soup against dist/qw: for a few fixed seeds, a generated mix of
 * succeeding, retrying, requeueing, rejecting, crashing, time-limited and slow
 * jobs drains with every job's runs, stored state and dead letters as the
 * decision table says (tests/helpers/fault_soup_case.ts), and nothing held,
 * through the faults each seed draws: rolling restarts, revokes with terminate
 * of finished and of waiting jobs, a results store that stops answering, and
 * pauses of a task or the stream (no job of it starts while paused); its jobs
 * are spread over priorities or all at the default, and some are of tasks with
 * a concurrency limit, under a few keys.
 *
 * The seeds cover concurrency 1, 2 and 4 and both stream kinds; seed 31 puts
 * a fast acksLate job right in front of a busy loop at concurrency 1. Seed 34
 * restarts qw while jobs are held and running, revokes two jobs before they
 * are published and one after its SUCCESS is stored, then cuts the results
 * store off; seed 126 cuts it off at once (acksLate results wait for it, early
 * ack ones are lost) and restarts qw twice after; seed 100 restarts qw while
 * its open pulls still bring jobs, which must go back as copies, not as runs
 * (a nak dead-lettered a job there that never ran). Seed 111 pauses two tasks
 * (one whose retry comes while paused) over jobs spread from priority 0 to 9,
 * while the results store is cut off. Seed 54 keys jobs at concurrency 4 with an ack wait of 1 s: three jobs of
 * a task of limit 2 that each retry once on one key (six runs), some routed by the worker, some on their key's
 * subject, keyless ones on their task's one key, beside a long synchronous acksLate job and a results outage; no
 * key may run more than its limit at once. Seeds 19, 34, 100 and 111 draw keyed jobs too (after their earlier
 * jobs, which stay as they were); seed 100 routes all of them through two rolling restarts.
 * Replay one seed (any integer) with:
 *
 *   QW_SOUP_SEED=31 node_modules/.bin/bun test --timeout 120000 tests/integration/fault_soup_test.ts
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeFailure, faultText, passed, runSoup, soupCase } from "../helpers/fault_soup.ts";
import { useServer } from "../helpers/suite.ts";

/** concurrency 2 workqueue, 4 limits, 1 workqueue, 1 limits, then the new faults: 1 limits, 1 limits, 1 workqueue; task pauses: 2 limits; keys: 4 workqueue. */
const FIXED = [1, 3, 19, 31, 34, 126, 100, 111, 54];
const env = process.env.QW_SOUP_SEED;
const SEEDS = env !== undefined && env !== "" ? [Number(env)] : FIXED;
if (SEEDS.some((s) => !Number.isSafeInteger(s))) throw new Error(`QW_SOUP_SEED must be an integer, not '${env}'`);

// The bound (30 s) plus start, publish, the rolling restarts, settle and stop.
const SLOW = { timeout: 90_000 };

describe("fault soup", () => {
  const t = useServer("soup");
  for (const seed of SEEDS) {
    const c = soupCase(seed);
    const shape = `concurrency ${c.concurrency}, ${c.kind} stream, ${faultText(c)}${c.jobs.length} jobs`;
    it(`fault soup: seed ${seed} (${shape}) drains with every job's runs and state as the decision table says`, SLOW, async () => {
      const r = await runSoup(c, { server: t.srv.url, dir: t.dir });
      const replay = `QW_SOUP_SEED=${seed} node_modules/.bin/bun test --timeout 120000 tests/integration/fault_soup_test.ts`;
      assert.ok(passed(r), describeFailure(r, replay));
    });
  }
});
