import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { revokeTtl, ttlHeader } from "../../../../src/core/job/revoke_ttl.ts";

describe("revokeTtl()", () => {
  const day = 86_400;
  const cases: [string, Parameters<typeof revokeTtl>[0], number][] = [
    ["the results TTL when the stream has no max age", { streamMaxAge: 0, resultTtl: day, bucketMaxAge: day }, day],
    ["the stream's max age when it has one", { streamMaxAge: 3600, resultTtl: day, bucketMaxAge: day }, 3600],
    ["no longer than the bucket's max age", { streamMaxAge: 7 * day, resultTtl: day, bucketMaxAge: day }, day],
    ["the TTL asked for first", { requested: 5, streamMaxAge: 3600, resultTtl: day, bucketMaxAge: day }, 5],
    ["whole seconds, rounded up", { requested: 1.2, streamMaxAge: 0, resultTtl: day, bucketMaxAge: 0 }, 2],
    ["at least one second", { streamMaxAge: 0, resultTtl: 0.1, bucketMaxAge: 0 }, 1],
    ["any length when the bucket has no max age", { streamMaxAge: 0, resultTtl: 30 * day, bucketMaxAge: 0 }, 30 * day],
  ];
  for (const [what, input, want] of cases) {
    it(`revokeTtl() gives ${what}`, () => assert.equal(revokeTtl(input), want));
  }
  it("revokeTtl() rejects a TTL that is not a positive number", () => {
    for (const requested of [0, -1, Number.NaN, Infinity]) {
      assert.throws(() => revokeTtl({ requested, streamMaxAge: 0, resultTtl: 1, bucketMaxAge: 0 }), RangeError);
    }
  });
  it("ttlHeader() writes seconds as a Go duration", () => assert.equal(ttlHeader(90), "90s"));
});
