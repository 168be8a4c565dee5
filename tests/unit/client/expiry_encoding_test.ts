/**
 * A job's expiry on the wire: the producer checks `expires` and writes the
 * absolute `Qw-Expires` (and `Nats-TTL` when the stream takes it), a worker
 * reads it back or refuses a bad one, a delayed job's release counts its TTL
 * again, and `qw result` shows the reason.
 */

import { describe, it, test } from "node:test";
import assert from "node:assert/strict";
import { headers as makeHeaders } from "@nats-io/nats-core";
import type { JsMsg } from "@nats-io/jetstream";
import { prepareJob } from "../../../src/client/prepare_job.ts";
import { encodeJob } from "../../../src/client/producer.ts";
import { readDelivery } from "../../../src/worker/intake/delivery.ts";
import { releaseOf } from "../../../src/worker/schedules/delayed_release.ts";
import { resultView } from "../../../src/cli/commands/cmd_result.ts";
import { EXPIRY_TTL_GRACE_S } from "../../../src/core/job/expiry.ts";

const NOW = 1_767_225_600_000;

describe("enqueue with expires", () => {
  test("prepareJob() turns seconds or a Date into the absolute expiry; encodeJob() writes Qw-Expires", () => {
    const job = prepareJob("add", [], { id: "a", expires: 2 }, NOW);
    assert.equal(job.expiresAt, NOW + 2000);
    assert.deepEqual(encodeJob("jobs", job, NOW).headers, [["Qw-Id", "a"], ["Qw-Expires", String(NOW + 2000)]]);
    assert.equal(prepareJob("add", [], { expires: new Date(NOW + 5) }, NOW).expiresAt, NOW + 5);
    assert.equal("expiresAt" in prepareJob("add", [], {}, NOW), false, "no expiry, no field");
  });

  test("encodeJob() adds Nats-TTL only when the job carries one", () => {
    const job = { ...prepareJob("add", [], { id: "a", expires: 2 }, NOW), ttl: 2 + EXPIRY_TTL_GRACE_S };
    assert.deepEqual(encodeJob("jobs", job, NOW).headers.at(-1), ["Nats-TTL", String(2 + EXPIRY_TTL_GRACE_S)]);
  });

  test("prepareJob() refuses a bad expiry before anything is sent, with one line", () => {
    assert.throws(() => prepareJob("add", [], { expires: 0 }, NOW), /^RangeError: Cannot enqueue job as 'expires' must be > 0 seconds: current value is "0"$/);
    assert.throws(() => prepareJob("add", [], { expires: "1" as unknown as number }, NOW), TypeError);
  });
});

/** A first delivery of a message with these headers, as the worker receives it. */
function delivered(pairs: [string, string][]): JsMsg {
  const block = new TextEncoder().encode("NATS/1.0\r\n" + pairs.map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n");
  const reply = `$JS.ACK.jobs.qw_jobs.1.9.9.${NOW}000000.0`;
  return { subject: "jobs.add", reply, data: new Uint8Array(), msg: { _msg: { hdr: block.length }, _rdata: block } } as unknown as JsMsg;
}

describe("readDelivery() and Qw-Expires", () => {
  it("reads the expiry in epoch ms", () => {
    const d = readDelivery(delivered([["Qw-Id", "a"], ["Qw-Expires", String(NOW + 2000)]]), "jobs");
    assert.equal(d.expiresAt, NOW + 2000);
    assert.equal(d.invalid, null);
  });
  it("has none without the header", () => {
    assert.equal(readDelivery(delivered([["Qw-Id", "a"]]), "jobs").expiresAt, null);
  });
  it("takes a message with a bad Qw-Expires for an invalid job, with the reason", () => {
    const d = readDelivery(delivered([["Qw-Id", "a"], ["Qw-Expires", "tomorrow"]]), "jobs");
    assert.equal(d.invalid, `Header 'Qw-Expires' must be epoch milliseconds (a whole number): current value is "tomorrow"`);
    assert.equal(d.id, "a");
  });
});

describe("releaseOf() and an expiring job", () => {
  const h = makeHeaders();
  for (const [k, v] of [["Nats-Msg-Id", "a:eta"], ["Qw-Id", "a"], ["Qw-Eta", String(NOW + 10_000)], ["Qw-Expires", String(NOW + 60_000)], ["Nats-TTL", "3660"]]) h.set(k, v);
  it("keeps Qw-Expires and counts the server TTL again from the release", () => {
    const r = releaseOf("jobs", { subject: "jobs._delayed.add", headers: h, seq: 3 }, NOW + 10_000);
    assert.deepEqual(r.headers, [["Qw-Expires", String(NOW + 60_000)], ["Nats-TTL", String(50 + EXPIRY_TTL_GRACE_S)], ["Qw-Id", "a"]]);
  });
});

describe("qw result and an expired job", () => {
  it("resultView() shows the reason of a REVOKED record", () => {
    const r = { id: "a", task: "add", state: "REVOKED" as const, retries: 0, deliveryCount: 1, worker: "w", finishedAt: 0, reason: "expired" };
    assert.equal(resultView(r).reason, "expired");
  });
});
