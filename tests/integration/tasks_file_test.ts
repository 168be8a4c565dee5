// A tasks file that tells the truth, against dist/qw: an option qw does not know
// (a typo, one it does not have, one holding a function) or of the wrong type
// stops qw with one line naming the file, the task and the option, before a
// job is pulled; an error a Web Worker throws while loading or running reaches
// the host with its name, message and the frame in the user's file, and one
// that cannot be cloned is described.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { jetstream } from "@nats-io/jetstream";
import { connectClient } from "../../src/client/client.ts";
import { hasStackTrace, ROOT, runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";

const SLOW = { timeout: 60_000 };
const BAD = "tests/fixtures/tasks/bad";

describe("a tasks file that tells the truth", () => {
  const t = useServer("tasksfile");
  let n = 0;

  /**
   * Runs dist/qw on a tasks file with a job already waiting on its stream;
   * returns the last line of stderr once qw exited 1, after checking nothing was pulled.
   */
  async function refused(tasks: string): Promise<string> {
    const stream = `tf${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await jetstream(t.nc).publish(`${stream}.charge`, JSON.stringify({ args: [1] }));
    const r = await runQw(["--stream", stream, "--tasks", tasks, "--server", t.srv.url]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!hasStackTrace(r.stderr), `no stack trace in: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    const info = await jsm.streams.info(stream);
    assert.equal(info.state.messages, 1, "the job is still on the stream");
    assert.equal(info.state.consumer_count, 0, "no consumer was made: no job was pulled");
    return lines[0];
  }

  const file = (name: string) => resolve(ROOT, BAD, name).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  it("a typo in an option names the file, the task, the option and the nearest known name", SLOW, async () => {
    assert.equal(
      await refused(`${BAD}/option_typo.ts`),
      `qw: Cannot load tasks file '${resolve(ROOT, BAD, "option_typo.ts")}' as task 'charge' has an unknown option 'acksLAte' (did you mean 'acksLate'?)`,
    );
  });

  it("an option qw does not have is refused", SLOW, async () => {
    assert.match(await refused(`${BAD}/option_unknown.ts`), new RegExp(`^qw: Cannot load tasks file '${file("option_unknown.ts")}' as task 'sync' has an unknown option 'routingKey'$`));
  });

  it("an option holding a function is refused by name, never 'DOMException {'", SLOW, async () => {
    const line = await refused(`${BAD}/option_function.ts`);
    assert.match(line, /as task 'charge' has an unknown option 'group'$/);
    assert.doesNotMatch(line, /DOMException/);
  });

  it("an option of the wrong type says what it must be", SLOW, async () => {
    assert.match(
      await refused(`${BAD}/option_wrong_type.ts`),
      /^qw: Cannot load tasks file '.*option_wrong_type\.ts' as task 'charge' option 'maxRetries' must be an integer >= 0 or null: current value is "3"$/,
    );
  });

  it("an option holding a function deeper inside is refused with its path", SLOW, async () => {
    assert.match(
      await refused(`${BAD}/schedule_uncloneable.ts`),
      /^qw: Cannot load tasks file '.*schedule_uncloneable\.ts' as task 'nightly' option 'schedule\.args\[0\]' must be data that can be sent to the host: current value is a function$/,
    );
  });

  it("options structured clone refuses are described: the task and the DataCloneError, never 'DOMException {'", SLOW, async () => {
    const line = await refused(`${BAD}/schedule_weakmap.ts`);
    assert.match(line, /^qw: Cannot load tasks file '.*schedule_weakmap\.ts' as the options of task 'nightly' cannot be sent to the host: DataCloneError: \S/);
    assert.doesNotMatch(line, /DOMException/);
  });

  it("an error thrown while loading gives its name, message and the frame in the user's file", SLOW, async () => {
    assert.match(
      await refused(`${BAD}/throws_at_top.ts`),
      new RegExp(`^qw: Cannot load tasks file '.*throws_at_top\\.ts': Error: config missing at import time \\(at ${file("throws_at_top.ts")}:2:\\d+\\)$`),
    );
  });

  it("the task defaults of --config and the environment are read with the same rules", SLOW, async () => {
    const config = join(t.dir, "qw.json");
    writeFileSync(config, JSON.stringify({ acksLAte: true }));
    const args = ["--stream", `tf${++n}`, "--tasks", "tests/fixtures/tasks/ok.ts", "--server", t.srv.url];
    const typo = await runQw([...args, "--config", config]);
    assert.match(typo.stderr, /^qw: Cannot start worker as config file key 'acksLAte' must be one of .* \(did you mean 'acksLate'\?\): current value is "true"\n$/);
    const range = await runQw(args, { env: { QW_MAX_RETRIES: "-1" } });
    assert.equal(range.stderr, `qw: Cannot start worker as 'QW_MAX_RETRIES' must be an integer >= 0 or "none": current value is "-1"\n`);
    assert.notEqual(typo.code, 0);
    assert.notEqual(range.code, 0);
  });

  /** Runs one job of tests/fixtures/tasks/uncaught.ts on dist/qw; its WorkerLostError's message. */
  async function lostWith(taskName: string): Promise<string> {
    const stream = `tf${++n}`;
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/uncaught.ts", "--server", t.srv.url, "--concurrency", "1"]);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await qwStarted(qw);
      const id = await client.enqueue(taskName, [join(t.dir, `${stream}.jsonl`)]);
      const r = await client.result(id, { timeout: 20 });
      assert.equal(r.state, "FAILURE");
      assert.equal(r.error?.name, "WorkerLostError");
      return r.error!.message;
    } finally {
      await client.close();
      await qwStop(qw);
    }
  }

  const uncaught = resolve(ROOT, "tests/fixtures/tasks/uncaught.ts").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  it("an error thrown while running, outside the task's promise, gives its name, message and the frame", SLOW, async () => {
    assert.match(await lostWith("timerThrows"), new RegExp(`uncaught error: Error: thrown in a timer callback \\(at ${uncaught}:10:\\d+\\)$`));
  });

  it("a DataCloneError nothing caught while running is described with its frame, never 'DOMException {'", SLOW, async () => {
    const message = await lostWith("timerClones");
    assert.match(message, new RegExp(`uncaught error: DataCloneError: \\S.* \\(at ${uncaught}:\\d+:\\d+\\)$`));
    assert.doesNotMatch(message, /DOMException/);
  });
});
