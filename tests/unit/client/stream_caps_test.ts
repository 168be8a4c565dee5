/**
 * What a stream takes: never a newer primitive before 2.11 (nothing is
 * asked), else the stream's `allow_msg_ttl`, `allow_msg_schedules` and `allow_atomic`, asked
 * once; asked again a while after the stream could not be read.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { PROBE_RETRY_MS, streamCapsProbe } from "../../../src/client/stream_caps.ts";

type Flags = { allow_msg_ttl?: boolean; allow_msg_schedules?: boolean; allow_atomic?: boolean };

describe("streamCapsProbe()", () => {
  function fake(version: string, answers: Array<Flags | Error>) {
    let asked = 0;
    const jsm = {
      streams: {
        info: () => {
          const a = answers[asked++];
          return a instanceof Error ? Promise.reject(a) : Promise.resolve({ config: a });
        },
      },
    } as unknown as JetStreamManager;
    return { nc: { info: { version } } as unknown as NatsConnection, jsm, asked: () => asked };
  }
  const both = { allow_msg_ttl: true, allow_msg_schedules: true, allow_atomic: true };

  it("streamCapsProbe() takes neither on a server before 2.11, without asking the stream", async () => {
    const f = fake("2.9.10", [both]);
    assert.deepEqual(await streamCapsProbe(f.nc, f.jsm, "jobs")(), { messageTtl: false, delays: "qw", atomic: false });
    assert.equal(f.asked(), 0);
  });

  it("streamCapsProbe() reads the stream's flags once, each only where the server has the primitive", async () => {
    const f = fake("2.15.3", [both, {}]);
    const probe = streamCapsProbe(f.nc, f.jsm, "jobs");
    assert.deepEqual(await probe(), { messageTtl: true, delays: "server", atomic: true });
    assert.deepEqual(await probe(), { messageTtl: true, delays: "server", atomic: true });
    assert.equal(f.asked(), 1);
    const g = fake("2.11.0", [both]);
    assert.deepEqual(await streamCapsProbe(g.nc, g.jsm, "jobs")(), { messageTtl: true, delays: "qw", atomic: false }, "2.11 has TTLs, not schedules or batches");
    const h = fake("2.15.3", [{ allow_msg_schedules: true }]);
    assert.deepEqual(await streamCapsProbe(h.nc, h.jsm, "jobs")(), { messageTtl: false, delays: "server", atomic: false });
  });

  it("streamCapsProbe() takes neither when the stream cannot be read, and asks again only after PROBE_RETRY_MS", async () => {
    const f = fake("2.15.3", [new Error("stream not found"), both]);
    let clock = 0;
    const probe = streamCapsProbe(f.nc, f.jsm, "jobs", () => clock);
    assert.deepEqual(await probe(), { messageTtl: false, delays: "qw", atomic: false });
    clock += PROBE_RETRY_MS - 1;
    assert.deepEqual(await probe(), { messageTtl: false, delays: "qw", atomic: false });
    assert.equal(f.asked(), 1, "no request per enqueue while the stream cannot be read");
    clock += 1;
    assert.deepEqual(await probe(), { messageTtl: true, delays: "server", atomic: true });
    assert.equal(f.asked(), 2);
  });

  it("streamCapsProbe().schedulesRefused() makes qw hold delays from then on, and keeps the TTL answer", async () => {
    const f = fake("2.15.3", [both]);
    const probe = streamCapsProbe(f.nc, f.jsm, "jobs");
    assert.equal((await probe()).delays, "server");
    probe.schedulesRefused();
    assert.deepEqual(await probe(), { messageTtl: true, delays: "qw", atomic: true });
    assert.equal(f.asked(), 1);
  });
});
