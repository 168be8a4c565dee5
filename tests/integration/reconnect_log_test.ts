// A server outage is logged as one line when the connection is lost and one when it is back, nothing in between.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnQw } from "../helpers/cli.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { qwStarted, qwStop } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 90_000 };

describe("reconnect logging", () => {
  it("logs a 5 s outage as 'disconnected' and 'reconnected after N s', quiet in between", SLOW, async () => {
    const server = await NatsServer.start();
    const qw = spawnQw(["--stream", "outage", "--tasks", "tests/fixtures/tasks/ok.ts", "--server", server.url, "--concurrency", "1"]);
    try {
      await qwStarted(qw);
      await server.stop({ cleanup: false });
      await new Promise((r) => setTimeout(r, 5_000));
      await server.restart();
      await waitFor(() => /reconnected to NATS/.test(qw.output()), { timeoutMs: 20_000, message: () => `no reconnect line: ${qw.output()}` });
      // Leave time for anything that would still be logged about the outage.
      await new Promise((r) => setTimeout(r, 2_000));
      const lines = qw.output().split("\n").filter((l) => !/worker started|Web Workers ready/.test(l) && l.trim() !== "");
      assert.equal(lines.filter((l) => /disconnected from NATS|server is shutting down/.test(l)).length, 1, qw.output());
      assert.match(lines.find((l) => /reconnected to NATS/.test(l))!, /after [5-9]\.\d s$/);
      assert.ok(!lines.some((l) => /reconnecting$|connection reconnecting/.test(l)), qw.output());
      assert.ok(lines.filter((l) => /heartbeat/.test(l)).length <= 1, qw.output());
      assert.ok(lines.length <= 4, `at most a few lines for the outage:\n${qw.output()}`);
    } finally {
      await qwStop(qw);
      await server.stop();
    }
  });
});
