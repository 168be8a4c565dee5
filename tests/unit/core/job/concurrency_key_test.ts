import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  concurrencyKeyOf,
  grantPulls,
  invalidKey,
  keyConsumerName,
  keyLimit,
  keyPullExpiry,
  keySubject,
  keyToken,
  lostKeyedRun,
  MAX_KEY_CONSUMER_NAME,
  mergeActive,
  parseKeySubject,
  served,
} from "../../../../src/core/job/concurrency_key.ts";

describe("concurrency keys", () => {
  it("keySubject() puts the key in base64url under <stream>._key.<task>, apart from <stream>.* and <stream>.p<N>.>", () => {
    const table: [string, string, string][] = [
      ["tenant-1", "add", "jobs._key.add.dGVuYW50LTE"],
      ["a.b*c >d", "add", "jobs._key.add.YS5iKmMgPmQ"],
      ["ü", "add", "jobs._key.add.w7w"],
      ["", "add", "jobs._key.add._"],
    ];
    for (const [key, task, subject] of table) {
      assert.equal(keySubject("jobs", task, key), subject, key);
      assert.deepEqual(parseKeySubject("jobs", subject), { task, token: keyToken(key) });
      assert.equal(subject.split(".").length, 4);
    }
  });

  it("parseKeySubject() refuses what is not a key subject", () => {
    for (const s of ["jobs.add", "jobs._delayed.add", "jobs._key.add", "jobs._key.add.", "other._key.add.x", "jobs.p1.add"]) {
      assert.equal(parseKeySubject("jobs", s), null, s);
    }
  });

  it("keyConsumerName() is a valid durable name, shortened with a hash when long", () => {
    assert.equal(keyConsumerName("qw_jobs", "add", "dGVuYW50LTE"), "qw_jobs_key_add_dGVuYW50LTE");
    assert.match(keyConsumerName("qw_jobs", "my$task", "x"), /^qw_jobs_key__[A-Za-z0-9_-]+_x$/);
    const long = keyConsumerName("qw_jobs", "add", keyToken("k".repeat(256)));
    assert.ok(long.length <= MAX_KEY_CONSUMER_NAME);
    assert.match(long, /^[A-Za-z0-9_-]+$/);
    assert.notEqual(long, keyConsumerName("qw_jobs", "add", keyToken("k".repeat(255) + "j")));
  });

  it("concurrencyKeyOf(): the header wins, then the task's computed key, then the task-wide key", () => {
    const keyed = { concurrency: { limit: 2 } };
    const plain = { concurrency: null };
    const table: [string | null, typeof keyed | typeof plain, string | null, string | null][] = [
      ["h", keyed, "computed", "h"],
      ["h", plain, null, "h"],
      [null, keyed, "computed", "computed"],
      [null, keyed, null, ""],
      ["", keyed, null, ""],
      [null, plain, null, null],
      ["", plain, null, null],
    ];
    for (const [header, task, computed, want] of table) assert.equal(concurrencyKeyOf(header, task, computed), want);
  });

  it("invalidKey() refuses keys over 256 characters and keys of more than one line", () => {
    assert.equal(invalidKey("k".repeat(256)), null);
    assert.match(invalidKey("k".repeat(257))!, /at most 256 characters: current length is 257/);
    assert.match(invalidKey("a\nb")!, /must be one line/);
  });

  it("keyLimit() is the task's limit, 1 for a task without the option or an unknown task", () => {
    assert.equal(keyLimit({ concurrency: { limit: 5 } }), 5);
    assert.equal(keyLimit({ concurrency: null }), 1);
    assert.equal(keyLimit(undefined), 1);
  });

  it("lostKeyedRun(): only an early-ack task's redelivered keyed job is not run again", () => {
    assert.equal(lostKeyedRun({ acksLate: false, deliveryCount: 1 }), false);
    assert.equal(lostKeyedRun({ acksLate: false, deliveryCount: 2 }), true);
    assert.equal(lostKeyedRun({ acksLate: true, deliveryCount: 2 }), false);
  });

  it("mergeActive() keeps the order of keys still active, drops gone ones and appends new ones sorted", () => {
    assert.deepEqual(mergeActive(["c", "a", "b"], ["b", "c", "e", "d"]), ["c", "b", "d", "e"]);
    assert.deepEqual(mergeActive([], ["b", "a"]), ["a", "b"]);
  });

  it("served() sends a key to the end of the turn order", () => {
    assert.deepEqual(served(["a", "b", "c"], "a"), ["b", "c", "a"]);
    assert.deepEqual(served(["a", "b", "c"], "x"), ["a", "b", "c"]);
  });

  it("grantPulls() gives the free pulls to the keys first in turn order without an open pull", () => {
    const table: [string[], string[], number, string[]][] = [
      [["a", "b", "c"], [], 2, ["a", "b"]],
      [["a", "b", "c"], ["a"], 2, ["b", "c"]],
      [["a", "b", "c"], [], 0, []],
      [["a", "b", "c"], ["a", "b", "c"], 5, []],
    ];
    for (const [order, open, free, want] of table) assert.deepEqual(grantPulls(order, new Set(open), free), want);
  });

  it("turns: a key with many jobs gets one turn per round, as a key with few does", () => {
    // One pull at a time; each pull brings a job of its key while the key has any.
    const waiting = new Map<string, number>([["big", 1000], ["s1", 2], ["s2", 2]]);
    let order = mergeActive([], waiting.keys());
    const ran: string[] = [];
    while (ran.length < 8) {
      const [k] = grantPulls(order, new Set(), 1);
      ran.push(k);
      waiting.set(k, waiting.get(k)! - 1);
      order = mergeActive(served(order, k), [...waiting].filter(([, n]) => n > 0).map(([key]) => key));
    }
    assert.deepEqual(ran, ["big", "s1", "s2", "big", "s1", "s2", "big", "big"]);
  });

  it("keyPullExpiry() is long while every key can have a pull, short when keys wait for a turn", () => {
    assert.equal(keyPullExpiry(3, 4), 2_000);
    assert.equal(keyPullExpiry(5, 4), 250);
  });
});
