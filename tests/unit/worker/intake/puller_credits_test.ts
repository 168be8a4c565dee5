// The puller's credits against a scripted server: a pull is never held back by credits the server no longer owes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { Puller } from "../../../../src/worker/intake/consumer.ts";
import type { PriorityLevels } from "../../../../src/worker/intake/priority_levels.ts";
import { DEFAULT_PRIORITY, type LevelChoice } from "../../../../src/core/job/priority.ts";

interface Sent {
  subject: string;
  body: { batch: number; no_wait?: boolean };
  reply: string;
}

/** A connection that records pull requests and lets the test deliver to the puller's inbox. */
function scriptedServer() {
  const sent: Sent[] = [];
  let deliver: ((m: Msg) => void) | null = null;
  const nc = {
    subscribe: (_subject: string, o: { callback: (e: Error | null, m: Msg) => void }) => {
      deliver = (m) => o.callback(null, m);
      return { unsubscribe: () => {} };
    },
    publish: (subject: string, data: string, o: { reply: string }) => sent.push({ subject, body: JSON.parse(data), reply: o.reply }),
  } as unknown as NatsConnection;
  let seq = 0;
  return {
    nc,
    sent,
    /** A job delivered by the default level's consumer (the long poll's and the default level's). */
    job(): void {
      seq++;
      deliver!({ subject: "S.lat", reply: `$JS.ACK.S.qw_S.1.${seq}.${seq}.1700000000000000000.0`, data: new Uint8Array(), headers: undefined } as unknown as Msg);
    },
    /** The status that ends request `reply` (404: nothing to bring). */
    status(reply: string, code: number): void {
      const headers = { code, description: code === 404 ? "No Messages" : "Request Timeout", get: () => "" };
      deliver!({ subject: reply, reply: "", data: new Uint8Array(), headers } as unknown as Msg);
    },
  };
}

/** Priority levels whose only level with work is the default one once `sweep()` says so (as the periodic sweep does). */
function levelsStub() {
  let choice: LevelChoice | null = null;
  let wake: () => void = () => {};
  const levels = {
    several: true,
    start: () => {},
    stop: () => {},
    next: () => choice,
    signaled: () => false,
    sent: () => {
      choice = null;
    },
    consumer: () => "qw_S",
    levelOf: () => DEFAULT_PRIORITY,
    delivered: () => {},
    ended: () => {},
    whenChanged: () => new Promise<void>((r) => (wake = r)),
  } as unknown as PriorityLevels;
  return {
    levels,
    sweep(): void {
      choice = { level: DEFAULT_PRIORITY, floor: false, contested: false, max: 10 };
      wake();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("Puller credits", () => {
  it("a job the long poll brings while a no_wait pull of the default level is open frees the long poll's credit, so the next pull goes out at once", async () => {
    const server = scriptedServer();
    const lv = levelsStub();
    let room = 1;
    let roomed: () => void = () => {};
    const jobs: unknown[] = [];
    const p = new Puller({
      nc: server.nc, stream: "S", consumer: "qw_S", levels: lv.levels,
      room: () => room - jobs.length,
      whenRoom: () => new Promise<void>((r) => (roomed = r)),
      onMessage: (m) => jobs.push(m),
      onError: (e) => assert.fail(e),
    });
    p.start();
    await tick();
    assert.equal(server.sent.length, 1, "the long poll of the default level");
    const long = server.sent[0];
    assert.equal(long.body.no_wait, undefined);
    // The sweep: the default level counts as waiting; a no_wait pull of it goes out beside the long poll.
    lv.sweep();
    await tick();
    assert.equal(server.sent.length, 2);
    const level = server.sent[1];
    assert.equal(level.body.no_wait, true);
    // The server serves its waiting requests in order: the long poll takes the job (and is filled: no status),
    // then the no_wait pull finds nothing.
    server.job();
    server.status(level.reply, 404);
    await tick();
    // The job runs and ends: room again.
    jobs.length = 0;
    room = 1;
    roomed();
    await tick();
    assert.equal(server.sent.length, 3, "a new pull goes out at once, not after the long poll's expiry");
    await p.stop({ waitForPulls: false });
  });
});
