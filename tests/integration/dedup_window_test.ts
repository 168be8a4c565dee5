// A worker start checks the stream's duplicate window against what it
// publishes with an id while it holds a job (retries, flows, delayed and
// rate-limited jobs: twice the ack wait) and says what to do when it is too
// short. Real dist/qw processes against a real nats-server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("the stream's duplicate window", () => {
  const t = useServer("dedup");

  it("shorter than twice the ack wait: a warning at start that says how to raise it", SLOW, async () => {
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: "dw1", subjects: ["dw1.>"], retention: RetentionPolicy.Workqueue, duplicate_window: nanos(5_000) });
    const qw = spawnQw(["--stream", "dw1", "--tasks", TASKS, "--server", t.srv.url, "--ack-wait", "30"]);
    try {
      await qwStarted(qw);
      assert.match(
        qw.output(),
        /WARN.*the duplicate window of stream 'dw1' is 5 s, shorter than the 60 s needed by retries, flows, delayed and rate-limited jobs \(twice the ack wait of 30 s\): a job may run twice; raise it with 'nats stream edit dw1 --dupe-window 60s'/,
      );
    } finally {
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("the stream qw creates (120 s) with the default ack wait: no warning", SLOW, async () => {
    const qw = spawnQw(["--stream", "dw2", "--tasks", TASKS, "--server", t.srv.url]);
    try {
      await qwStarted(qw);
      assert.doesNotMatch(qw.output(), /duplicate window/);
    } finally {
      assert.equal(await qwStop(qw), 0);
    }
  });
});
