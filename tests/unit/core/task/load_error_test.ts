import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { errorLine, loadErrorText, userFrame } from "../../../../src/core/task/load_error.ts";

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
    const noFrame = Object.assign(new Error("config missing at import time"), { stack: "Error: config missing at import time" });
    assert.equal(loadErrorText(noFrame), "config missing at import time");
    assert.equal(loadErrorText("thrown string"), "thrown string");
    assert.equal(loadErrorText(new AggregateError([], "nothing inside")), "nothing inside");
  });
});

/** An error with a given stack. */
const thrown = <E extends Error>(e: E, stack: string): E => Object.assign(e, { stack });

describe("loadErrorText() of an error the module threw as it ran", () => {
  test("gives its name, message and the first frame in the user's file", () => {
    const e = thrown(new RangeError("config missing\nmore"), "RangeError: config missing\n    at file:///app/tasks.ts:2:7\n    at ext:core/01_core.js:1:1");
    assert.equal(loadErrorText(e), "RangeError: config missing (at /app/tasks.ts:2:7)");
  });
});

describe("userFrame()", () => {
  const cases: [string, string, string | null][] = [
    ["V8 with a function name", "TypeError: x\n    at charge (file:///app/tasks.ts:9:13)", "/app/tasks.ts:9:13"],
    ["V8 without a function name", "Error: x\n    at /app/tasks.ts:3:1", "/app/tasks.ts:3:1"],
    ["Deno's runtime frames first", "DataCloneError: x\n    at ext:runtime_main/js/99_main.js:1:4091\n    at postMessage (ext:deno_web/13_message_port.js:1:9811)\n    at file:///app/my%20tasks.ts:7:61", "/app/my tasks.ts:7:61"],
    ["JavaScriptCore, native first", "postMessage@[native code]\n@/app/tasks.ts:17:21", "/app/tasks.ts:17:21"],
    ["JavaScriptCore module code", "module code@/app/tasks.ts:13:19", "/app/tasks.ts:13:19"],
    ["qw's bundled frames skipped", "Error: x\n    at runJob (/$bunfs/root/qw:1:2)\n    at f (/app/tasks.ts:1:5)", "/app/tasks.ts:1:5"],
    ["a library's frame after the user's", "Error: x\n    at lib (/app/node_modules/lib/index.js:1:1)\n    at f (/app/tasks.ts:4:2)", "/app/tasks.ts:4:2"],
    ["only a library's frame", "Error: x\n    at lib (/app/node_modules/lib/index.js:1:1)", "/app/node_modules/lib/index.js:1:1"],
    ["no frame at all", "Error: x", null],
    ["only native frames", "postMessage@[native code]", null],
  ];
  for (const [what, stack, expected] of cases) test(`userFrame() with ${what}`, () => assert.equal(userFrame(stack), expected));
  test("userFrame() of something that is not a stack is null", () => assert.equal(userFrame(undefined), null));
});

describe("errorLine()", () => {
  test("is one line: name, first line of the message, where", () => {
    assert.equal(errorLine({ name: "TypeError", message: "bad\nthings", stack: "TypeError: bad\n    at f (/app/t.ts:1:2)" }), "TypeError: bad (at /app/t.ts:1:2)");
  });
  test("describes a DataCloneError as data, however the runtime prints it", () => {
    const clone = { name: "DataCloneError", message: "The object can not be cloned.", stack: "postMessage@[native code]\n@/app/tasks.ts:10:21" };
    assert.equal(errorLine(clone), "DataCloneError: The object can not be cloned. (at /app/tasks.ts:10:21)");
  });
  test("names a nameless error Error and leaves out a missing frame", () => {
    assert.equal(errorLine({ message: "x" }), "Error: x");
  });
});
