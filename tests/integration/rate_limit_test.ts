// rateLimit: "10/s" spaces jobs 100 ms apart per worker process; jobs that
// would wait longer than a third of the ack wait go back to the server
// (a delayed copy with their token reserved) instead of holding a lease.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "../helpers/wait.ts";
import { spawnQw } from "../helpers/cli.ts";
import { useServer } from "../helpers/suite.ts";
import { reserveToken, waitPlan } from "../../src/core/rate/rate_limit.ts";

describe("rate limits", () => {
  it("reserveToken() spaces tokens 1/rate apart and lets the first run at once", () => {
    let next = 0;
    const ats: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = reserveToken(next, 1_000, 10);
      ats.push(r.at);
      next = r.nextAt;
    }
    assert.deepEqual(ats, [1_000, 1_100, 1_200, 1_300]);
    assert.equal(reserveToken(500, 2_000, 2).at, 2_000, "an idle bucket does not bank tokens");
  });

  it("waitPlan() runs, holds briefly, or defers", () => {
    assert.equal(waitPlan(0, 300), "run");
    assert.equal(waitPlan(300, 300), "hold");
    assert.equal(waitPlan(301, 300), "defer");
  });

  describe("with dist/qw", () => {
    const t = useServer("rate");

    it("runs 20 jobs of a 10/s task no faster than 10 a second, none lost, none redelivered", { timeout: 60_000 }, async () => {
      const stream = "rate" + crypto.randomUUID().slice(0, 8);
      const log = join(t.dir, "ticks.log");
      writeFileSync(log, "");
      const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/limited.ts", "--server", t.srv.url, "--ack-wait", "1", "--concurrency", "2"]);
      try {
        await waitFor(() => qw.output().includes("worker started"), { timeoutMs: 15_000 });
        const js = jetstream(t.nc);
        for (let i = 0; i < 20; i++) await js.publish(`${stream}.tick`, JSON.stringify({ args: [log, `t${i}`] }), { msgID: `t${i}` });
        const rows = await waitFor(() => {
          const r = readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
          return r.length >= 20 ? r : null;
        }, { timeoutMs: 20_000, message: "not all rate-limited jobs ran" });
        await new Promise((r) => setTimeout(r, 300));
        const final = readFileSync(log, "utf8").trim().split("\n");
        assert.equal(final.length, 20, "each job ran once");
        assert.equal(new Set(final.map((l) => l.split(" ")[0])).size, 20);
        // Never faster than the limit. The tokens are 100 ms apart; a start seen in the task can come late (a busy
        // machine), which brings it close to the next one, so the check counts starts per second instead of gaps.
        const times = rows.map((l) => Number(l.split(" ")[1])).sort((a, b) => a - b);
        const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
        assert.ok(busiest <= 12, `${busiest} starts within one second at 10/s: ${times.map((t) => t - times[0])}`);
        const span = times.at(-1)! - times[0];
        assert.ok(span >= 1_700, `20 jobs at 10/s took ${span} ms`);
        const jsm = await jetstreamManager(t.nc);
        const ci = await jsm.consumers.info(stream, `qw_${stream}`);
        assert.equal(ci.num_redelivered, 0, "waiting for a token is not a redelivery");
        assert.equal(ci.num_ack_pending, 0);
      } finally {
        process.kill(qw.pid!, "SIGTERM");
        await new Promise((r) => qw.on("exit", r));
      }
    });
  });
});
