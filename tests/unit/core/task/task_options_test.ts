import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkTaskOptions, nearestName, nonDataPath, TASK_DEFAULT_KEYS, TASK_OPTION_RULES } from "../../../../src/core/task/task_options.ts";
import { resolveTaskDefaults } from "../../../../src/core/config/config.ts";
import { collectTasks, task } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";

/** Runs the checker; the error as "Kind: message", or "ok". */
function verdict(options: unknown, name = "charge"): string {
  try {
    checkTaskOptions(name, options);
    return "ok";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe("checkTaskOptions()", () => {
  const cases: [string, unknown, string][] = [
    ["no options", {}, "ok"],
    ["every known option with a good value", {
      acksLate: true, rejectOnWorkerLost: false, acksOnFailureOrTimeout: true, autoretryFor: [TypeError, "Timeout"],
      dontAutoretryFor: [], maxRetries: null, defaultRetryDelay: 0, retryBackoff: 2, retryBackoffMax: 60, retryJitter: false,
      timeLimit: 30, softTimeLimit: 0.5, rateLimit: "10/m", trackStarted: true, ignoreResult: false, bind: true,
      schedule: [{ every: 60 }, { cron: "0 3 * * *", tz: "Europe/Berlin", args: [1], catchUp: "all" }],
    }, "ok"],
    ["an option set to undefined", { acksLate: undefined }, "ok"],
    ["a typo differing in case", { acksLAte: true }, "TypeError: task 'charge' has an unknown option 'acksLAte' (did you mean 'acksLate'?)"],
    ["a typo one letter off", { maxRetires: 3 }, "TypeError: task 'charge' has an unknown option 'maxRetires' (did you mean 'maxRetries'?)"],
    ["an option qw does not have", { routingKey: "sync" }, "TypeError: task 'charge' has an unknown option 'routingKey'"],
    ["a rate limit shared by the stream", { rateLimit: "20/s", rateLimitScope: "stream" }, "ok"],
    ["a rate limit per process", { rateLimitScope: "process" }, "ok"],
    ["a rate limit scope qw does not have", { rateLimitScope: "cluster" }, `RangeError: task 'charge' option 'rateLimitScope' must be "process" or "stream": current value is "cluster"`],
    ["a rate limit scope that is not text", { rateLimitScope: 1 }, `TypeError: task 'charge' option 'rateLimitScope' must be "process" or "stream": current value is "1"`],
    ["per-key concurrency", { concurrency: { limit: 2 } }, "ok"],
    ["a concurrency limit out of range", { concurrency: { limit: 0 } }, "TypeError: task 'charge' option 'concurrency' must be null or { limit, key? } with an integer limit from 1 to 10000 and a function key: current value is {\"limit\":0}"],
    ["a concurrency key function", { concurrency: { key: (k: string) => k, limit: 2 } }, "ok"],
    ["a concurrency key that is no function", { concurrency: { key: "tenant", limit: 2 } }, "TypeError: task 'charge' option 'concurrency' must be null or { limit, key? } with an integer limit from 1 to 10000 and a function key: current value is {\"key\":\"tenant\",\"limit\":2}"],
    ["a worker option given to a task", { concurrencyy: 2 }, "TypeError: task 'charge' has an unknown option 'concurrencyy' (did you mean 'concurrency'?)"],
    ["priority 9", { priority: 9 }, "ok"],
    ["priority out of range", { priority: 10 }, `RangeError: task 'charge' option 'priority' must be a whole number from 0 to 9: current value is "10"`],
    ["priority as text", { priority: "9" }, `TypeError: task 'charge' option 'priority' must be a whole number from 0 to 9: current value is "9"`],
    ["expires in seconds", { expires: 60 }, "ok"],
    ["expires of zero seconds", { expires: 0 }, `RangeError: task 'charge' option 'expires' must be a number > 0 or null: current value is "0"`],
    ["expires as text", { expires: "60" }, `TypeError: task 'charge' option 'expires' must be a number > 0 or null: current value is "60"`],
    ["expires mistyped", { expire: 60 }, "TypeError: task 'charge' has an unknown option 'expire' (did you mean 'expires'?)"],
    ["batch with a size", { batch: { size: 10 } }, "ok"],
    ["batch with a size and a wait", { batch: { size: 100, wait: 0.05 } }, "ok"],
    ["batch of null", { batch: null }, "ok"],
    ["batch of size 0", { batch: { size: 0 } }, `RangeError: task 'charge' option 'batch' must be { size, wait } with a whole size >= 1 and a wait in seconds >= 0: current value is {"size":0}`],
    ["batch with a negative wait", { batch: { size: 5, wait: -1 } }, `RangeError: task 'charge' option 'batch' must be { size, wait } with a whole size >= 1 and a wait in seconds >= 0: current value is {"size":5,"wait":-1}`],
    ["batch as a number", { batch: 10 }, `TypeError: task 'charge' option 'batch' must be { size, wait } with a whole size >= 1 and a wait in seconds >= 0: current value is "10"`],
    ["batch with an unknown key", { batch: { size: 5, timeout: 1 } }, `TypeError: task 'charge' option 'batch' must be { size, wait } with a whole size >= 1 and a wait in seconds >= 0: current value is {"size":5,"timeout":1}`],
    ["unique, not an option yet", { unique: true }, "TypeError: task 'charge' has an unknown option 'unique'"],
    ["a boolean as text", { acksLate: "true" }, `TypeError: task 'charge' option 'acksLate' must be true or false: current value is "true"`],
    ["maxRetries negative", { maxRetries: -1 }, `RangeError: task 'charge' option 'maxRetries' must be an integer >= 0 or null: current value is "-1"`],
    ["maxRetries fractional", { maxRetries: 1.5 }, `RangeError: task 'charge' option 'maxRetries' must be an integer >= 0 or null: current value is "1.5"`],
    ["maxRetries as text", { maxRetries: "3" }, `TypeError: task 'charge' option 'maxRetries' must be an integer >= 0 or null: current value is "3"`],
    ["a zero time limit", { timeLimit: 0 }, `RangeError: task 'charge' option 'timeLimit' must be a number > 0 or null: current value is "0"`],
    ["an infinite delay", { defaultRetryDelay: Infinity }, `TypeError: task 'charge' option 'defaultRetryDelay' must be a number >= 0: current value is "Infinity"`],
    ["a negative backoff factor", { retryBackoff: -2 }, `RangeError: task 'charge' option 'retryBackoff' must be true, false or a factor >= 0: current value is "-2"`],
    ["a rate limit without a unit we know", { rateLimit: "10/d" }, `RangeError: task 'charge' option 'rateLimit' must be "N/s", "N/m" or "N/h" with N a positive number, or null: current value is "10/d"`],
    ["a rate limit as a number per second", { rateLimit: 5 }, "ok"],
    ["autoretryFor as one class", { autoretryFor: TypeError }, "TypeError: task 'charge' option 'autoretryFor' must be a list of error classes or error names: current value is function TypeError"],
    ["autoretryFor with a number", { autoretryFor: [42] }, `TypeError: task 'charge' option 'autoretryFor' must be a list of error classes or error names: current value is [42]`],
    ["a schedule as text", { schedule: "0 3 * * *" }, `TypeError: task 'charge' option 'schedule' must be a schedule ({ every } or { cron }) or a list of schedules: current value is "0 3 * * *"`],
    ["a typo in a schedule", { schedule: { every: 5, catchup: "all" } }, "TypeError: task 'charge' schedule has an unknown option 'catchup' (did you mean 'catchUp'?)"],
    ["a typo in the second schedule", { schedule: [{ every: 5 }, { evry: 5 }] }, "TypeError: task 'charge' schedule 1 has an unknown option 'evry' (did you mean 'every'?)"],
    ["a function in a schedule's args", { schedule: { every: 60, args: [() => 1] } }, "TypeError: task 'charge' option 'schedule.args[0]' must be data that can be sent to the host: current value is a function"],
    ["a symbol in the second schedule", { schedule: [{ every: 60 }, { every: 5, args: [{ at: Symbol("x") }] }] }, "TypeError: task 'charge' option 'schedule[1].args[0].at' must be data that can be sent to the host: current value is \"Symbol(x)\""],
    ["options that are not an object", ["acksLate"], `TypeError: task 'charge' options must be an object: current value is ["acksLate"]`],
  ];
  for (const [what, options, expected] of cases) {
    test(`checkTaskOptions() with ${what}`, () => assert.equal(verdict(options), expected));
  }

  test("checkTaskOptions() keeps the error to one line whatever the names hold", () => {
    assert.equal(verdict({ "a\nb": 1 }, "x\ny"), `TypeError: task 'x\\ny' has an unknown option 'a\\nb'`);
  });
});

describe("nearestName()", () => {
  const known = Object.keys(TASK_OPTION_RULES);
  const cases: [string, string | null][] = [
    ["acksLAte", "acksLate"],
    ["ackslate", "acksLate"],
    ["timelimit", "timeLimit"],
    ["softTimeLimt", "softTimeLimit"],
    ["bnd", "bind"],
    ["routingKey", null],
    ["rateLimitScop", "rateLimitScope"],
    ["x", null],
  ];
  for (const [name, expected] of cases) test(`nearestName() of '${name}' is ${expected}`, () => assert.equal(nearestName(name, known), expected));
});

describe("one list of options for the tasks file and the config", () => {
  test("the task defaults of flags, env and --config are the options of the list that are not task-only", () => {
    assert.deepEqual([...TASK_DEFAULT_KEYS].sort(), Object.keys(DEFAULT_TASK_DEFAULTS).sort());
  });

  test("the config reads task defaults with the same rules, from text", () => {
    const d = resolveTaskDefaults({ acksLate: "yes", maxRetries: "none", retryBackoff: "true" }, { env: { QW_RATE_LIMIT: "5/s" } });
    assert.deepEqual([d.acksLate, d.maxRetries, d.retryBackoff, d.rateLimit], [true, null, 1, "5/s"]);
    assert.throws(() => resolveTaskDefaults({}, { env: { QW_MAX_RETRIES: "-1" } }), {
      name: "RangeError",
      message: `Cannot start worker as 'QW_MAX_RETRIES' must be an integer >= 0 or "none": current value is "-1"`,
    });
    assert.throws(() => resolveTaskDefaults({}, { fileValues: { retryJitter: "maybe" } }), {
      name: "TypeError",
      message: `Cannot start worker as 'retryJitter' must be a boolean ("true", "false", "1", "0", "yes", "no", "on" or "off"): current value is "maybe"`,
    });
  });

  test("collectTasks() refuses a task with an unknown option, plain functions pass", () => {
    const mod = { ok: () => 1, charge: task({ acksLAte: true } as never, () => 2) };
    assert.throws(() => collectTasks(mod, DEFAULT_TASK_DEFAULTS), {
      name: "TypeError",
      message: "task 'charge' has an unknown option 'acksLAte' (did you mean 'acksLate'?)",
    });
    assert.equal(collectTasks({ ok: () => 1 }, DEFAULT_TASK_DEFAULTS).size, 1);
  });
});

describe("nonDataPath()", () => {
  const cases: [string, unknown, string | null][] = [
    ["plain data", { a: [1, "x", null, { b: true }] }, null],
    ["a function at the top", () => 1, ""],
    ["a function deep inside", { a: [1, { b: () => 1 }] }, "a[1].b"],
    ["a symbol", [Symbol("s")], "[0]"],
    ["a circular object, which structured clone keeps", (() => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    })(), null],
  ];
  for (const [what, value, expected] of cases) test(`nonDataPath() of ${what} is ${JSON.stringify(expected)}`, () => assert.equal(nonDataPath(value), expected));
});
