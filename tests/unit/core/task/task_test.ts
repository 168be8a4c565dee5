/**
 * Declaring tasks and recognising errors inside the Web Worker: `task()`,
 * `collectTasks()` (a tasks module -> runnable tasks with resolved options) and
 * `matchesError()`, which decides autoretry (`dontAutoretryFor` wins).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";
import { collectTasks, matchesError, resolveTaskOptions, scheduleSpecs, task } from "../../../../src/core/task/task.ts";
import type { ErrorMatcher } from "../../../../src/core/types.ts";

class NetworkError extends Error {
  override name = "NetworkError";
}
class Timeout extends NetworkError {}
class Unnamed extends Error {}
class BadInput extends RangeError {
  override name = "BadInput";
}

/** What worker_entry.ts's classify() computes for an error that is not Retry, Reject or Ignore. */
const autoretries = (e: unknown, o: { autoretryFor: ErrorMatcher[]; dontAutoretryFor: ErrorMatcher[] }): boolean =>
  !matchesError(e, o.dontAutoretryFor) && matchesError(e, o.autoretryFor);

describe("matchesError()", () => {
  it("matchesError() matches an instance of a listed class and of its subclasses", () => {
    assert.equal(matchesError(new TypeError("x"), [TypeError]), true);
    assert.equal(matchesError(new Timeout("x"), [NetworkError]), true);
    assert.equal(matchesError(new BadInput("x"), [RangeError]), true);
    assert.equal(matchesError(new Error("x"), [TypeError]), false);
    assert.equal(matchesError(new NetworkError("x"), [Timeout]), false);
  });

  it("matchesError() matches a listed name: the error's own name or a class name it inherits", () => {
    assert.equal(matchesError(new TypeError("x"), ["TypeError"]), true);
    assert.equal(matchesError(new Timeout("x"), ["NetworkError"]), true, "name inherited from the class field");
    assert.equal(matchesError(new Timeout("x"), ["Timeout"]), true, "constructor name");
    assert.equal(matchesError(new BadInput("x"), ["RangeError"]), true, "inherited constructor name");
    assert.equal(matchesError(new Unnamed("x"), ["Unnamed"]), true);
    assert.equal(matchesError(Object.assign(new Error("x"), { name: "EHOSTDOWN" }), ["EHOSTDOWN"]), true);
    assert.equal(matchesError({ name: "TypeError", message: "cloned" }, ["TypeError"]), true, "a plain object by name");
    assert.equal(matchesError(new Error("x"), ["TypeError"]), false);
  });

  it("matchesError() is false for an empty list and never throws on odd values", () => {
    assert.equal(matchesError(new Error("x"), []), false);
    for (const odd of [null, undefined, 0, "TypeError", Symbol("s"), Object.create(null)]) {
      assert.equal(matchesError(odd, ["TypeError", TypeError]), false, String(typeof odd));
    }
  });

  it("matchesError() decides autoretry: dontAutoretryFor wins over autoretryFor", () => {
    const o = { autoretryFor: [Error] as ErrorMatcher[], dontAutoretryFor: [RangeError] as ErrorMatcher[] };
    assert.equal(autoretries(new TypeError("x"), o), true);
    assert.equal(autoretries(new BadInput("x"), o), false);
    assert.equal(
      autoretries(new TypeError("x"), { autoretryFor: ["TypeError"], dontAutoretryFor: ["TypeError"] }),
      false,
    );
    assert.equal(
      autoretries(new TypeError("x"), { autoretryFor: [], dontAutoretryFor: [] }),
      false,
      "nothing retries by default",
    );
  });
});

describe("collectTasks()", () => {
  const defaults = { ...DEFAULT_TASK_DEFAULTS };
  const resolved = {
    ...defaults, autoretryFor: [], dontAutoretryFor: [], bind: false, expires: null, priority: 5, rateLimitScope: "process", schedules: [], batch: null,
    concurrency: null,
  };
  const declaredFn = (x: number) => x * 2;
  const module: Record<string, unknown> = {
    add: (a: number, b: number) => a + b,
    declared: task(
      {
        acksLate: true,
        retryBackoff: true,
        maxRetries: null,
        autoretryFor: [TypeError, "NetworkError"],
        dontAutoretryFor: [BadInput],
      },
      declaredFn,
    ),
    bound: task({ bind: true, timeLimit: 5 }, (ctx) => ctx.id),
    NetworkError,
    VERSION: "1.0",
    settings: { acksLate: true },
    default: () => "default export",
  };

  it("collectTasks() takes every exported function, by export name, and skips classes and values", () => {
    const tasks = collectTasks(module, defaults);
    assert.deepEqual([...tasks.keys()].sort(), ["add", "bound", "declared", "default"]);
  });

  it("collectTasks() gives plain functions the worker-wide defaults", () => {
    const add = collectTasks(module, defaults).get("add")!;
    assert.equal(add.fn, module.add);
    assert.deepEqual(add.options, resolved);
    assert.equal(add.options.priority, 5, "the default priority");
    const late = collectTasks(module, { ...defaults, acksLate: true, timeLimit: 9 }).get("add")!;
    assert.equal(late.options.acksLate, true);
    assert.equal(late.options.timeLimit, 9);
  });

  it("collectTasks() resolves task() options over the defaults and keeps the matchers", () => {
    const declared = collectTasks(module, { ...defaults, acksLate: false, maxRetries: 7 }).get("declared")!;
    assert.equal(declared.fn, declaredFn);
    assert.equal(declared.fn(21), 42);
    assert.deepEqual(declared.options, {
      ...resolved,
      acksLate: true,
      retryBackoff: 1,
      maxRetries: null,
      autoretryFor: ["TypeError", "NetworkError"],
      dontAutoretryFor: ["BadInput"],
    });
    assert.deepEqual(declared.autoretryFor, [TypeError, "NetworkError"]);
    assert.deepEqual(declared.dontAutoretryFor, [BadInput]);
  });

  it("collectTasks() marks bound tasks", () => {
    const bound = collectTasks(module, defaults).get("bound")!;
    assert.equal(bound.options.bind, true);
    assert.equal(bound.options.timeLimit, 5);
  });

  it("resolveTaskOptions() maps retryBackoff true/false/factor and lets a per-task false beat a default true", () => {
    const on = { ...defaults, acksLate: true, retryBackoff: 3 };
    assert.equal(resolveTaskOptions({ retryBackoff: true }, defaults).retryBackoff, 1);
    assert.equal(resolveTaskOptions({ retryBackoff: false }, on).retryBackoff, 0);
    assert.equal(resolveTaskOptions({ retryBackoff: 2 }, defaults).retryBackoff, 2);
    assert.equal(resolveTaskOptions({}, on).retryBackoff, 3);
    assert.equal(resolveTaskOptions({ acksLate: false }, on).acksLate, false);
    assert.equal(resolveTaskOptions({ acksLate: undefined }, on).acksLate, true, "undefined means the default");
  });

  it("resolveTaskOptions() turns one schedule or a list into specs with defaults, and keeps no raw 'schedule'", () => {
    const one = resolveTaskOptions({ schedule: { every: 30, args: ["eu"] } }, defaults);
    assert.deepEqual(one.schedules, [{ every: 30, cron: null, tz: "UTC", args: ["eu"], catchUp: "latest" }]);
    assert.equal("schedule" in one, false);
    const both = resolveTaskOptions({ schedule: [{ every: 60 }, { cron: "*/5 * * * * *", tz: "Europe/Berlin", args: [1], catchUp: "all" }] }, defaults);
    assert.deepEqual(both.schedules, [
      { every: 60, cron: null, tz: "UTC", args: [], catchUp: "latest" },
      { every: null, cron: "*/5 * * * * *", tz: "Europe/Berlin", args: [1], catchUp: "all" },
    ]);
    assert.deepEqual(resolveTaskOptions({}, defaults).schedules, []);
  });

  it("resolved options, schedules included, cross to the host as data (structured clone)", () => {
    const options = resolveTaskOptions({ schedule: [{ cron: "0 3 * * *", tz: "Europe/Berlin", args: [{ a: [1] }] }] }, defaults);
    assert.deepEqual(structuredClone(options), options);
  });

  it("scheduleSpecs() passes bad values through unchecked: the host checks them", () => {
    assert.deepEqual(scheduleSpecs({ every: 0, args: "x" as never, catchUp: "some" as never }), [
      { every: 0, cron: null, tz: "UTC", args: "x" as never, catchUp: "some" as never },
    ]);
    assert.deepEqual(scheduleSpecs([42 as never]), [{ every: null, cron: null, tz: "UTC", args: [], catchUp: "latest" }]);
  });

  it("task() without a function throws a TypeError", () => {
    assert.throws(() => task({} as never, undefined as never), TypeError);
  });
});
