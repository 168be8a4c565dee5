import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadErrorText } from "../../../../src/core/task/load_error.ts";

/** A Bun BuildMessage as a failed import throws it. */
const buildMessage = (message: string, line: number, column: number, file = "/app/tasks.ts") =>
  Object.assign(Object.create(null), { name: "BuildMessage", message, position: { file, line, column, lineText: "" } });

describe("loadErrorText()", () => {
  test("locates a Bun syntax error by its position", () => {
    assert.equal(loadErrorText(buildMessage(`Expected ")" but found "{"`, 2, 42)), `/app/tasks.ts:2:42: Expected ")" but found "{"`);
  });

  test("shows the first of Bun's aggregated build errors and counts the rest", () => {
    const e = new AggregateError([buildMessage(`Expected ")" but found "{"`, 2, 42), buildMessage("Unexpected }", 4, 1)], `2 errors building "/app/tasks.ts"`);
    assert.equal(loadErrorText(e), `/app/tasks.ts:2:42: Expected ")" but found "{" (and 1 more error)`);
    const three = new AggregateError([buildMessage("a", 1, 1), buildMessage("b", 2, 1), buildMessage("c", 3, 1)], "3 errors");
    assert.equal(loadErrorText(three), "/app/tasks.ts:1:1: a (and 2 more errors)");
  });

  test("locates a Deno syntax error from the location under its excerpt, colours removed", () => {
    const e = new TypeError(
      "SyntaxError: Expected ',', got '{'\n  |\n2 | export function f(a {\n  |                     ~\n    at \x1b[36mfile:///app/my%20tasks.ts\x1b[0m:\x1b[33m2\x1b[0m:\x1b[33m21\x1b[0m",
    );
    assert.equal(loadErrorText(e), "/app/my tasks.ts:2:21: SyntaxError: Expected ',', got '{'");
  });

  test("locates Deno's missing module by the import that names it", () => {
    const e = new TypeError(`Module not found "file:///app/x.ts".\n    at file:///app/tasks.ts:1:22`);
    assert.equal(loadErrorText(e), `/app/tasks.ts:1:22: Module not found "file:///app/x.ts".`);
  });

  test("falls back to the first line when there is no location", () => {
    const resolve = Object.assign(new Error("Cannot find module './x.ts' imported from /app/tasks.ts"), { position: null });
    assert.equal(loadErrorText(resolve), "Cannot find module './x.ts' imported from /app/tasks.ts");
    assert.equal(loadErrorText(new Error("config missing at import time")), "config missing at import time");
    assert.equal(loadErrorText("thrown string"), "thrown string");
    assert.equal(loadErrorText(new AggregateError([], "nothing inside")), "nothing inside");
  });
});
