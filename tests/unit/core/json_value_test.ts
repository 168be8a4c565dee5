import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { toJsonValue } from "../../../src/core/json_value.ts";

describe("toJsonValue()", () => {
  test("leaves JSON values alone and says nothing", () => {
    const v = { a: [1, "x", null, true], b: { c: 2.5 }, d: new Date(0) };
    const r = toJsonValue(v);
    assert.equal(r.converted, null);
    assert.equal(JSON.stringify(r.value), JSON.stringify(v));
  });

  test("stores a Map as [key, value] pairs, a Set as an array, a BigInt as a decimal string", () => {
    assert.deepEqual(toJsonValue(new Map([["a", 1], ["b", 2]])), {
      value: [["a", 1], ["b", 2]],
      converted: "a Map (stored as an array of [key, value] pairs)",
    });
    assert.deepEqual(toJsonValue(new Set([1, 2])), { value: [1, 2], converted: "a Set (stored as an array)" });
    assert.deepEqual(toJsonValue(10n), { value: "10", converted: "a BigInt (stored as its decimal string)" });
    assert.deepEqual(toJsonValue(new Uint8Array([1, 2])).value, [1, 2]);
  });

  test("converts nested values and names the first conversion found", () => {
    const r = toJsonValue({ total: 12345678901234567890n, seen: new Set(["a"]) });
    assert.deepEqual(r.value, { total: "12345678901234567890", seen: ["a"] });
    assert.equal(r.converted, "a BigInt (stored as its decimal string)");
  });

  test("breaks cycles but keeps a shared object seen twice", () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const r = toJsonValue(cyclic);
    assert.deepEqual(r.value, { shared: { n: 1 }, again: { n: 1 }, self: "[Circular]" });
    assert.match(r.converted!, /circular/);
  });
});
