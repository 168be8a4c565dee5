/**
 * Whether a stream takes the server's per-message TTL: never before 2.11
 * (nothing is asked), else the stream's `allow_msg_ttl`, asked once; asked
 * again a while after the stream could not be read.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { messageTtlProbe, PROBE_RETRY_MS } from "../../../src/client/message_ttl.ts";

describe("messageTtlProbe()", () => {
  function fake(version: string, answers: Array<boolean | Error>) {
    let asked = 0;
    const jsm = {
      streams: {
        info: () => {
          const a = answers[asked++];
          return a instanceof Error ? Promise.reject(a) : Promise.resolve({ config: { allow_msg_ttl: a } });
        },
      },
    } as unknown as JetStreamManager;
    return { nc: { info: { version } } as unknown as NatsConnection, jsm, asked: () => asked };
  }

  it("is false on a server before 2.11, without asking the stream", async () => {
    const f = fake("2.9.10", [true]);
    assert.equal(await messageTtlProbe(f.nc, f.jsm, "jobs")(), false);
    assert.equal(f.asked(), 0);
  });

  it("on 2.11+ is the stream's allow_msg_ttl, asked once", async () => {
    const f = fake("2.15.3", [true, false]);
    const probe = messageTtlProbe(f.nc, f.jsm, "jobs");
    assert.equal(await probe(), true);
    assert.equal(await probe(), true);
    assert.equal(f.asked(), 1);
    const g = fake("2.11.0", [false]);
    assert.equal(await messageTtlProbe(g.nc, g.jsm, "jobs")(), false);
  });

  it("when the stream cannot be read it answers false, and asks again only after PROBE_RETRY_MS", async () => {
    const f = fake("2.15.3", [new Error("stream not found"), true]);
    let clock = 0;
    const probe = messageTtlProbe(f.nc, f.jsm, "jobs", () => clock);
    assert.equal(await probe(), false);
    clock += PROBE_RETRY_MS - 1;
    assert.equal(await probe(), false);
    assert.equal(f.asked(), 1, "no request per enqueue while the stream cannot be read");
    clock += 1;
    assert.equal(await probe(), true);
    assert.equal(f.asked(), 2);
  });
});
