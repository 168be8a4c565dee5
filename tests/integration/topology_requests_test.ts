/**
 * What a set-up asks the server (ensureTopology): on a stream it creates,
 * no consumer is looked up before it is added (none can exist yet), and the
 * stream's configuration comes from the create, not from another look-up;
 * on an existing stream every consumer is looked up and kept as it is.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { ensureTopology, namesFor } from "../../src/client/topology.ts";
import { NatsServer } from "../helpers/nats_server.ts";

describe("ensureTopology() requests", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let spy: NatsConnection;
  before(async () => {
    server = await NatsServer.start();
    [nc, spy] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
  });
  after(async () => {
    await Promise.all([nc.close(), spy.close()]);
    await server.stop();
  });

  /** The JetStream API requests `fn` sends, by kind (`STREAM.INFO`, `CONSUMER.CREATE`, ...). */
  async function requests(fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const sub = spy.subscribe("$JS.API.>", { callback: (_e, m) => void seen.push(m.subject.split(".").slice(2, 4).join(".")) });
    await spy.flush();
    await fn();
    await spy.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    return seen;
  }

  it("on a new stream adds every consumer without looking it up first, and returns the created stream's configuration", async () => {
    const names = namesFor("topo_new");
    const jsm = await jetstreamManager(nc);
    let stream: { name: string; duplicate_window?: number } | undefined;
    const seen = await requests(async () => ({ stream } = await ensureTopology(jsm, names, { ackWait: 30 })));
    assert.equal(seen.filter((r) => r === "CONSUMER.INFO").length, 0, seen.join(" "));
    // The work stream and the dead-letter stream: one look-up each (not found), then the create.
    assert.equal(seen.filter((r) => r === "STREAM.INFO").length, 2, seen.join(" "));
    assert.equal(stream?.name, names.stream);
    assert.equal(stream?.duplicate_window, (await jsm.streams.info(names.stream)).config.duplicate_window);
    const consumers = [];
    for await (const c of jsm.consumers.list(names.stream)) consumers.push(c.name);
    assert.equal(consumers.length, 11); // the work consumer, 9 other priority levels, the delayed releaser
  });

  it("on an existing stream looks up every consumer and keeps an existing consumer's ack wait", async () => {
    const names = namesFor("topo_old");
    const jsm = await jetstreamManager(nc);
    await ensureTopology(jsm, names, { ackWait: 30 });
    let ackWait = 0;
    const seen = await requests(async () => ({ ackWait } = await ensureTopology(jsm, names, { ackWait: 10 })));
    assert.equal(seen.filter((r) => r === "CONSUMER.INFO").length, 11, seen.join(" "));
    assert.equal(seen.filter((r) => r === "CONSUMER.CREATE" || r === "CONSUMER.DURABLE").length, 0, seen.join(" "));
    assert.equal(ackWait, 30);
  });
});
