/**
 * The work consumer's way in (routeOrHandOn): each message's delivery, its
 * headers included, is read once; a keyed job is routed to its key's subject
 * from that read, any other goes to the dispatcher with it, and the
 * dispatcher does not read the message again.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { routeOrHandOn } from "../../../../src/worker/keys/keyed_intake.ts";
import { KeyRouter } from "../../../../src/worker/keys/key_router.ts";
import type { Held } from "../../../../src/worker/intake/dispatch.ts";
import { testDispatcher } from "../../../helpers/dispatcher.ts";
import { Emitter } from "../../../../src/core/events.ts";
import { MemoryResultStore } from "../../../../src/client/buckets/result_store.ts";
import { resolveTaskOptions } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";
import type { PoolJob } from "../../../../src/worker/pool/pool.ts";

/** A job message whose raw header block counts how often it is read. */
function message(seq: number, task: string, headers: [string, string][]): JsMsg & { reads: number; ops: string[] } {
  const block = new TextEncoder().encode("NATS/1.0\r\n" + headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n");
  const body = new TextEncoder().encode('{"args":[]}');
  const raw = new Uint8Array(block.length + body.length);
  raw.set(block);
  raw.set(body, block.length);
  const m = {
    reads: 0,
    ops: [] as string[],
    subject: `jobs.${task}`,
    reply: `$JS.ACK.jobs.qw_jobs.1.${seq}.${seq}.1767225600000000000.0`,
    data: body,
    seq,
    info: { streamSequence: seq, deliveryCount: 1, timestampNanos: 1767225600000000000 },
    get msg() {
      m.reads++;
      return { _msg: { hdr: block.length }, _rdata: raw };
    },
    ack: () => void m.ops.push("ack"),
    nak: () => void m.ops.push("nak"),
    term: () => void m.ops.push("term"),
    working: () => {},
  };
  return m as unknown as JsMsg & { reads: number; ops: string[] };
}

function setUp() {
  const tasks = {
    plain: resolveTaskOptions({}, DEFAULT_TASK_DEFAULTS),
    keyed: resolveTaskOptions({ concurrency: { limit: 1 } }, DEFAULT_TASK_DEFAULTS),
  };
  const emitter = new Emitter();
  const published: string[] = [];
  const js = { publish: (subject: string) => (published.push(subject), Promise.resolve({ seq: 1, duplicate: false, stream: "jobs" })) };
  const router = new KeyRouter({
    js: js as unknown as JetStreamClient,
    stream: "jobs",
    tasks: () => tasks,
    emitter,
    invalid: () => assert.fail("no job is invalid here"),
    routed: () => {},
    computeKey: () => Promise.reject(new Error("no key is computed here")),
  });
  const submitted: PoolJob<Held>[] = [];
  const dispatcher = testDispatcher({
    tasks: () => tasks,
    submit: (job) => submitted.push(job),
    store: new MemoryResultStore(),
    emitter,
  });
  const intake = routeOrHandOn("jobs", router, (m, d) => dispatcher.onMessage(m, d));
  return { intake, published, submitted };
}

describe("routeOrHandOn()", () => {
  it("reads a job's headers once and the dispatcher starts it with what was read", () => {
    const { intake, published, submitted } = setUp();
    const m = message(7, "plain", [["Qw-Id", "job-7"], ["Qw-Retries", "2"]]);
    intake(m);
    assert.equal(m.reads, 1);
    assert.deepEqual(published, []);
    assert.equal(submitted.length, 1);
    assert.equal(submitted[0].ref.id, "job-7");
    assert.equal(submitted[0].ref.retries, 2);
  });

  it("reads a keyed job's headers once and routes it to its key's subject without the dispatcher", async () => {
    const { intake, published, submitted } = setUp();
    const m = message(8, "keyed", [["Qw-Id", "job-8"], ["Qw-Concurrency-Key", "customer-1"]]);
    intake(m);
    await Promise.resolve();
    assert.equal(m.reads, 1);
    assert.equal(published.length, 1);
    assert.match(published[0], /^jobs\._key\.keyed\./);
    assert.deepEqual(submitted, []);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(m.ops, ["ack"]);
  });

  it("routes a job by its key header even when its task has no concurrency limit", async () => {
    const { intake, published } = setUp();
    const m = message(9, "plain", [["Qw-Id", "job-9"], ["Qw-Concurrency-Key", "k"]]);
    intake(m);
    await Promise.resolve();
    assert.equal(m.reads, 1);
    assert.equal(published.length, 1);
  });
});
