/**
 * `keyFor()`: the NATS KV key of a task id. Keys must be valid (the charset
 * `[-/_=.a-zA-Z0-9]`, no leading or trailing ".", no "..") and distinct for
 * distinct ids, since the key is all that finds a job's result.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { keyFor, type ResultRecord, supersedes } from "../../../../src/client/buckets/result_store.ts";

/** A valid KV key, as the server and `@nats-io/kv` take it. */
const VALID_KEY = /^[-/_=a-zA-Z0-9]([-/_=.a-zA-Z0-9]*[-/_=a-zA-Z0-9])?$/;

function assertValid(id: string): string {
  const key = keyFor(id);
  assert.match(key, VALID_KEY, `key of ${JSON.stringify(id)}`);
  assert.ok(!key.includes(".."), `key of ${JSON.stringify(id)} has "..": ${key}`);
  return key;
}

/** The inverse of keyFor: `=XX` is a byte, anything else itself; bytes are generalized UTF-8 (lone surrogates too). */
function idOf(key: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    if (key[i] === "=") {
      assert.match(key.slice(i + 1, i + 3), /^[0-9a-f]{2}$/, `bad escape in ${key}`);
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(key.charCodeAt(i));
  }
  let id = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    let cp = n === 1 ? b : b & (0xff >> (n + 1));
    for (let j = 1; j < n; j++) cp = (cp << 6) | (bytes[i + j] & 0x3f);
    id += String.fromCodePoint(cp);
    i += n;
  }
  return id;
}

const TRICKY = [
  "a", "job-1", "a.b", "a.b.c", ".", "..", "...", ".a", "a.", ".a.", "a..b", "a...b", "..a..", "a.=2e", "a=2e",
  "a=2eb", "a.b=", "=", "==", "=2e", "=3d", "=3D", ".=", "=.", "a .b", "a. b", " ", "\n", "a\nb", "a/b", "/", "-",
  "_", "_kv", "é", "e\u0301", "日本", "😀", "\u{10ffff}", "\ud800", "\udfff", "\udbff\udc00x", "\ufffd", "\u0000",
  "a*b", "a>b", "a b", "a%2eb", "A", "\u00ff", "\u0100", "a..", "..b", "x.y..z.",
];

describe("keyFor()", () => {
  test("keeps an id that is already a valid key", () => {
    for (const id of ["a", "job-1", "a.b.c", "A_b-c/d", "123", "a.b/c.d"]) assert.equal(keyFor(id), id);
  });

  test("escapes other characters, and '=' itself, as =XX per UTF-8 byte", () => {
    assert.equal(keyFor("="), "=3d");
    assert.equal(keyFor("a b"), "a=20b");
    assert.equal(keyFor("é"), "=c3=a9");
    assert.equal(keyFor("a=2e"), "a=3d2e");
    assert.equal(keyFor("😀"), "=f0=9f=98=80");
  });

  test("escapes a leading, trailing or doubled '.' as =2e", () => {
    assert.equal(keyFor(".a"), "=2ea");
    assert.equal(keyFor("a."), "a=2e");
    assert.equal(keyFor("a..b"), "a=2e=2eb");
    assert.equal(keyFor("."), "=2e");
    assert.equal(keyFor("a.b..c."), "a.b=2e=2ec=2e");
  });

  test("gives a valid key for every tricky id", () => {
    for (const id of TRICKY) assertValid(id);
  });

  test("is one-to-one on the tricky ids, lone surrogates included", () => {
    const seen = new Map<string, string>();
    for (const id of TRICKY) {
      const key = keyFor(id);
      assert.ok(!seen.has(key) || seen.get(key) === id, `${JSON.stringify(id)} and ${JSON.stringify(seen.get(key))} share ${key}`);
      seen.set(key, id);
      assert.equal(idOf(key), id, `key ${key} decodes back`);
    }
  });

  test("property: every id gets a valid key that decodes back to it", () => {
    const char = fc.oneof(
      fc.constantFrom(".", ".", "=", "/", "-", "_", "a", "2", "e", " ", "\n"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
      fc.string({ unit: "grapheme-composite", minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((n) => String.fromCharCode(n)),
    );
    const id = fc.array(char, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(id, (id) => {
        assert.equal(idOf(assertValid(id)), id);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(id, id, (a, b) => {
        if (a !== b) assert.notEqual(keyFor(a), keyFor(b));
      }),
      { numRuns: 500 },
    );
  });
});

describe("supersedes()", () => {
  const rec = (state: string, retries: number, deliveryCount: number) =>
    ({ id: "a", task: "t", state, retries, deliveryCount, worker: "w", finishedAt: 0 }) as Parameters<typeof supersedes>[0];
  test("a newer attempt replaces an older one, never the reverse", () => {
    assert.equal(supersedes(rec("SUCCESS", 0, 2), rec("SUCCESS", 0, 1)), true);
    assert.equal(supersedes(rec("SUCCESS", 0, 1), rec("SUCCESS", 0, 2)), false);
    assert.equal(supersedes(rec("SUCCESS", 1, 1), rec("RETRY", 0, 3)), true);
    assert.equal(supersedes(rec("FAILURE", 0, 3), rec("RETRY", 1, 1)), false);
  });
  test("within one attempt the final state replaces STARTED, and STARTED never replaces a final state", () => {
    assert.equal(supersedes(rec("SUCCESS", 0, 1), rec("STARTED", 0, 1)), true);
    assert.equal(supersedes(rec("STARTED", 0, 1), rec("SUCCESS", 0, 1)), false);
    assert.equal(supersedes(rec("STARTED", 0, 1), rec("STARTED", 0, 1)), true);
    assert.equal(supersedes(rec("STARTED", 0, 2), rec("SUCCESS", 0, 1)), true, "a later delivery's start");
  });
});

describe("supersedes() with progress and revokes", () => {
  const rec = (state: ResultRecord["state"], retries = 0, deliveryCount = 1): ResultRecord =>
    ({ id: "x", task: "t", state, retries, deliveryCount, worker: "w", finishedAt: 0 });
  test("PROGRESS replaces STARTED and PROGRESS, never a final state of the same attempt", () => {
    assert.equal(supersedes(rec("PROGRESS"), rec("STARTED")), true);
    assert.equal(supersedes(rec("PROGRESS"), rec("PROGRESS")), true);
    for (const final of ["SUCCESS", "FAILURE", "REVOKED"] as const) assert.equal(supersedes(rec("PROGRESS"), rec(final)), false, final);
    assert.equal(supersedes(rec("STARTED"), rec("PROGRESS")), false);
  });
  test("a final state replaces the interim ones, and a later attempt replaces anything", () => {
    assert.equal(supersedes(rec("REVOKED"), rec("PROGRESS")), true);
    assert.equal(supersedes(rec("SUCCESS"), rec("REVOKED")), true, "the same attempt's final write wins over an earlier one");
    assert.equal(supersedes(rec("PROGRESS", 1), rec("SUCCESS", 0)), true);
    assert.equal(supersedes(rec("SUCCESS", 0), rec("REVOKED", 1)), false);
  });
});

