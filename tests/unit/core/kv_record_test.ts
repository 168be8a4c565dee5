import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readKvObject } from "../../../src/core/kv_record.ts";

const entry = (operation: string, text = "") => ({ operation, string: () => text });

describe("readKvObject()", () => {
  it("readKvObject() reads a delete, a purge and an expired key's marker as a removal", () => {
    for (const op of ["DEL", "PURGE", "MaxAge"]) assert.deepEqual(readKvObject(entry(op, "{}")), { kind: "removed" });
  });
  it("readKvObject() says what text that is not JSON starts with", () => {
    assert.deepEqual(readKvObject(entry("PUT", "garbage")), { kind: "not_json", reason: 'not JSON: "garbage"' });
  });
  it("readKvObject() tells JSON that is not an object apart", () => {
    for (const t of ["null", "[1]", "3", '"x"']) assert.deepEqual(readKvObject(entry("PUT", t)), { kind: "not_object", text: t });
  });
  it("readKvObject() gives a JSON object with its text", () => {
    assert.deepEqual(readKvObject(entry("PUT", '{"id":"a"}')), { kind: "object", value: { id: "a" }, text: '{"id":"a"}' });
  });
});
