/**
 * The producer client's pure parts: validating and encoding a job, the
 * compile-time task typing, and the helpers of `qw enqueue` and `qw result`.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Client, isFinalState, prepareJob, type TaskArgs, type TaskName } from "../../../src/client/client.ts";
import { copyId, enqueueSummary, parseArg, progressLine } from "../../../src/cli/commands/cmd_enqueue.ts";
import { exitCodeOf, resultView } from "../../../src/cli/commands/cmd_result.ts";
import { delayedSubject } from "../../../src/client/topology.ts";

type Tasks = typeof import("../../fixtures/tasks/producer.ts");

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const message = (e as Error).message;
    assert.ok(!message.includes("\n"), "the message is one line");
    assert.ok(!message.endsWith("."), "the message has no closing period");
    return message;
  }
  assert.fail("expected a throw");
}

describe("prepareJob()", () => {
  const NOW = 1_700_000_000_000;

  test("encodes the args as the wire format body and gives a random UUID id", () => {
    const job = prepareJob("add", [2, 3], {}, NOW);
    assert.equal(new TextDecoder().decode(job.data), '{"args":[2,3]}');
    assert.match(job.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(prepareJob("add", [], {}, NOW).id, job.id);
    assert.deepEqual({ ...job, data: undefined }, {
      task: "add",
      data: undefined,
      id: job.id,
      retries: 0,
      etaMs: null,
      headers: {},
    });
  });

  test("puts a unique key in Qw-Unique, and a debounce in Qw-Debounce with an eta that many seconds ahead", () => {
    const u = prepareJob("add", [], { unique: "user-42" }, NOW);
    assert.deepEqual([u.headers, u.etaMs, u.scheduleName], [{ "Qw-Unique": "user-42" }, null, undefined]);
    const d = prepareJob("add", [], { unique: "user-42", debounce: 1.5, headers: { "X-A": "b" } }, NOW);
    assert.deepEqual([d.headers, d.etaMs, d.scheduleName], [{ "X-A": "b", "Qw-Unique": "user-42", "Qw-Debounce": "1.5" }, NOW + 1500, "debounce:user-42"]);
  });

  test("rejects a bad unique key or debounce with one line", () => {
    const cases: [object, RegExp][] = [
      [{ unique: "" }, /'unique' must be a non-empty line of at most 256 characters: current value is ""/],
      [{ unique: "x".repeat(257) }, /'unique' must be a non-empty line/],
      [{ unique: "a\nb" }, /'unique' must be a non-empty line/],
      [{ debounce: 2 }, /with 'debounce' but no 'unique'/],
      [{ unique: "k", debounce: 0 }, /'debounce' must be a number of seconds > 0: current value is "0"/],
      [{ unique: "k", debounce: Infinity }, /'debounce' must be a number of seconds > 0/],
      [{ unique: "k", debounce: 2, countdown: 0 }, /with 'debounce' and 'countdown' or 'eta'/],
      [{ unique: "k", debounce: 2, eta: new Date(NOW) }, /with 'debounce' and 'countdown' or 'eta'/],
    ];
    for (const [options, message] of cases) assert.throws(() => prepareJob("add", [], options, NOW), message);
  });

  test("keeps the caller's id and headers", () => {
    const job = prepareJob("add", [], { id: "invoice-42", headers: { "X-Trace": "abc" } }, NOW);
    assert.equal(job.id, "invoice-42");
    assert.deepEqual(job.headers, { "X-Trace": "abc" });
  });

  test("turns a countdown into an eta in epoch ms; zero runs now", () => {
    assert.equal(prepareJob("add", [], { countdown: 2.5 }, NOW).etaMs, NOW + 2500);
    assert.equal(prepareJob("add", [], { countdown: 0 }, NOW).etaMs, null);
  });

  test("keeps an eta in the past, which publishJob() sends to run now", () => {
    const job = prepareJob("add", [], { eta: new Date(NOW - 60_000) }, NOW);
    assert.equal(job.etaMs, NOW - 60_000);
    assert.ok(job.etaMs! <= NOW, "not delayed");
    assert.equal(delayedSubject("jobs", "add"), "jobs._delayed.add");
  });

  test("rejects a negative countdown with a RangeError naming the value", () => {
    assert.throws(() => prepareJob("add", [], { countdown: -1 }, NOW), RangeError);
    assert.equal(
      messageOf(() => prepareJob("add", [], { countdown: -1 }, NOW)),
      `Cannot enqueue job as 'countdown' must be >= 0: current value is "-1"`,
    );
    assert.throws(() => prepareJob("add", [], { countdown: Infinity }, NOW), RangeError);
    assert.throws(() => prepareJob("add", [], { countdown: NaN }, NOW), TypeError);
  });

  test("rejects bad task names, args, ids, etas and headers with one-line errors", () => {
    for (const task of ["", "a.b", "a b", "a*", "a>", "_delayed"]) {
      assert.match(messageOf(() => prepareJob(task, [], {}, NOW)), /^Cannot enqueue job as 'task' must be a name/);
    }
    assert.match(
      messageOf(() => prepareJob("add", "2 3" as unknown as unknown[], {}, NOW)),
      /'args' must be an array: current value is "2 3"$/,
    );
    assert.match(
      messageOf(() => prepareJob("add", [1n], {}, NOW)),
      /^Cannot enqueue job as 'args' must be JSON-serializable: /,
    );
    for (const id of [" ", "a\nb"]) {
      assert.match(messageOf(() => prepareJob("add", [], { id }, NOW)), /^Cannot enqueue job as 'id' must be a non-empty line:/);
    }
    for (const id of [".x", "x.", "a..b"]) assert.equal(prepareJob("add", [], { id }, NOW).id, id);
    assert.equal(prepareJob("add", [], { id: "a.b:c d/é" }, NOW).id, "a.b:c d/é");
    assert.match(messageOf(() => prepareJob("add", [], { eta: new Date(NaN) }, NOW)), /'eta' must be a valid Date/);
    assert.match(
      messageOf(() => prepareJob("add", [], { eta: new Date(), countdown: 1 }, NOW)),
      /both 'countdown' and 'eta'$/,
    );
    assert.match(
      messageOf(() => prepareJob("add", [], { headers: { "Qw-Id": "x" } }, NOW)),
      /header "Qw-Id" is reserved/,
    );
    assert.match(messageOf(() => prepareJob("add", [], { headers: { "Nats-Msg-Id": "x" } }, NOW)), /reserved/);
    assert.match(messageOf(() => prepareJob("add", [], { headers: { "A": "1\n2" } }, NOW)), /one-line string value/);
  });
});

describe("typed enqueue", () => {
  test("checks task names and argument tuples of a tasks module at compile time", () => {
    // Type-checked by `deno test` / `deno check`; never called.
    const calls = (c: Client<Tasks>) => {
      void c.enqueue("add", [2, 3]);
      void c.enqueue("slow", [10], { countdown: 1 });
      void c.enqueue("race", [100]);
      // @ts-expect-error: "add" takes numbers
      void c.enqueue("add", ["2", 3]);
      // @ts-expect-error: "add" takes two args
      void c.enqueue("add", [2]);
      // @ts-expect-error: no such task
      void c.enqueue("nope", []);
      // @ts-expect-error: a bound task's context is not an argument
      void c.enqueue("race", [{}, 100]);
    };
    const untyped = (c: Client) => void c.enqueue("anything", [1, "two", { three: 3 }]);
    const name: TaskName<Tasks> = "fail";
    const args: TaskArgs<Tasks, "slow"> = [5];
    // @ts-expect-error: "sleep" is not exported by the fixture
    const bad: TaskName<Tasks> = "sleep";
    assert.equal(typeof calls, "function");
    assert.equal(typeof untyped, "function");
    assert.deepEqual([name, args, bad], ["fail", [5], "sleep"]);
  });
});

describe("qw enqueue helpers", () => {
  test("parses each positional as JSON, falling back to the string", () => {
    assert.deepEqual(["2", "3.5", "true", "null", '"x"', "[1]", '{"a":1}', "bob", "{oops"].map(parseArg), [
      2,
      3.5,
      true,
      null,
      "x",
      [1],
      { a: 1 },
      "bob",
      "{oops",
    ]);
  });

  test("numbers the ids of copies when an id is given", () => {
    assert.equal(copyId("job", 1, 1), "job");
    assert.equal(copyId("job", 3, 5), "job-3");
    assert.equal(copyId(null, 3, 5), undefined);
  });

  test("enqueueSummary() reports the jobs stored, and the duplicate ids apart", () => {
    const r = { count: 5, task: "add", stream: "jobs", seconds: 0.5 };
    assert.deepEqual(enqueueSummary({ ...r, duplicates: 0 }), {
      out: "Enqueued 5 jobs of 'add' to stream 'jobs' in 0.50 s (10 jobs/s)",
      err: null,
    });
    assert.deepEqual(enqueueSummary({ ...r, duplicates: 5 }), {
      out: "Enqueued 0 jobs (of 5) of 'add' to stream 'jobs' in 0.50 s (10 jobs/s)",
      err: "5 of 5 ids were already enqueued within the duplicate window: not stored again",
    });
    assert.equal(enqueueSummary({ ...r, duplicates: 4 }).out, "Enqueued 1 job (of 5) of 'add' to stream 'jobs' in 0.50 s (10 jobs/s)");
  });

  test("draws a progress bar with the rate", () => {
    assert.equal(progressLine(50, 100, 1000, 10), "[#####.....] 50/100 50% 50 jobs/s");
    assert.equal(progressLine(0, 0, 0, 4), "[####] 0/0 100% 0 jobs/s");
  });
});

describe("qw result helpers", () => {
  const record = {
    id: "a",
    task: "add",
    state: "SUCCESS" as const,
    result: 5,
    retries: 1,
    deliveryCount: 2,
    worker: "w",
    finishedAt: 0,
  };

  test("prints the record with finishedAt as an ISO time", () => {
    assert.deepEqual(resultView(record), {
      id: "a",
      task: "add",
      state: "SUCCESS",
      result: 5,
      retries: 1,
      deliveryCount: 2,
      worker: "w",
      finishedAt: "1970-01-01T00:00:00.000Z",
    });
    const error = { name: "TypeError", message: "bad" };
    const failed = resultView({ ...record, state: "FAILURE", result: undefined, error });
    assert.deepEqual(failed.error, error);
    assert.equal("result" in failed, false);
    assert.deepEqual(resultView({ id: "x", state: "PENDING" }), { id: "x", state: "PENDING" });
  });

  test("exits 0 on SUCCESS, 1 on FAILURE and 2 on any other state", () => {
    assert.deepEqual(["SUCCESS", "FAILURE", "PENDING", "STARTED", "RETRY"].map(exitCodeOf), [0, 1, 2, 2, 2]);
    assert.deepEqual(["SUCCESS", "FAILURE", "RETRY"].map(isFinalState), [true, true, false]);
  });
});
