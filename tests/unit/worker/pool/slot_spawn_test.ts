import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { uncaughtText } from "../../../../src/worker/pool/_slot_spawn.ts";

/** How Bun reports a DataCloneError nothing caught in a Web Worker: the DOMException printed as an object. */
const BUN_DOMEXCEPTION = `DOMException {
  line: 10,
  column: 21,
  sourceURL: "/app/tasks.ts",
  stack: "postMessage@[native code]\\n@/app/tasks.ts:10:21",
  code: 25,
  name: "DataCloneError",
  message: "The object can not be cloned.",
  INDEX_SIZE_ERR: 1,
  toString: [Function: toString],
}`;

describe("uncaughtText()", () => {
  it("reads the name and message of a DOMException Bun printed as an object, never 'DOMException {'", () => {
    assert.equal(uncaughtText({ message: BUN_DOMEXCEPTION }), "DataCloneError: The object can not be cloned.");
  });

  it("keeps the 'Name: message' line of Bun's excerpt", () => {
    const message = `2 | setTimeout(() => { throw new TypeError("thrown in timer"); }, 10);\n                ^\nTypeError: thrown in timer\n      at <anonymous> (/app/w.ts:2:52)\n`;
    assert.equal(uncaughtText({ message }), "TypeError: thrown in timer");
  });

  it("takes Deno's one-line message and an error object when there is one", () => {
    assert.equal(uncaughtText({ message: "Uncaught TypeError: thrown in timer" }), "Uncaught TypeError: thrown in timer");
    assert.equal(uncaughtText({ message: "x", error: new RangeError("out\nof range") }), "RangeError: out");
  });
});
