// Listing a bucket's keys never waits forever: a listing that stalls (a key
// expired after it was counted) ends after the cut-off with what it read.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KV } from "@nats-io/kv";
import { listKeys } from "../../../../src/client/buckets/buckets.ts";

/** A KV whose key listing yields `keys` and then, unless `ends`, waits until stopped. */
function kvListing(keys: string[], ends: boolean): KV {
  return {
    keys: () => {
      let stop: () => void = () => {};
      const stopped = new Promise<void>((r) => (stop = r));
      async function* gen() {
        yield* keys;
        if (!ends) await stopped;
      }
      return Promise.resolve(Object.assign(gen(), { stop: () => stop() }));
    },
  } as unknown as KV;
}

describe("listKeys()", () => {
  it("lists every key of a listing that ends", async () => {
    assert.deepEqual(await listKeys(kvListing(["a", "b"], true)), ["a", "b"]);
  });

  it("cuts a stalled listing off after the timeout with the keys read by then", async () => {
    const t0 = Date.now();
    assert.deepEqual(await listKeys(kvListing(["a", "b"], false), 200), ["a", "b"]);
    const took = Date.now() - t0;
    assert.ok(took >= 190 && took < 2_000, `took ${took} ms`);
  });
});
