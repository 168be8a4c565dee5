/**
 * Create races against real servers: processes that start at the same moment
 * on a stream nobody created yet all end up with the same streams, consumers
 * and buckets, on one server and through every server of a cluster. Measured
 * on 2.9.10 and 2.15.3: both answer identical creates at once as idempotent,
 * so these pass even without createRaced() (topology.ts), which stays for the
 * "already in use" and "subjects overlap" answers of a create that differs.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { ensureTopology, levelConsumer, namesFor } from "../../src/client/topology.ts";
import { DEFAULT_PRIORITY, PRIORITY_LEVELS } from "../../src/core/job/priority.ts";
import { setUpServer } from "../../src/worker/setup.ts";
import { type NatsCluster, NatsServer, startCluster } from "../helpers/nats_server.ts";

const PROCESSES = 6;
const SLOW = { timeout: 60_000 };

describe("create races", () => {
  let server: NatsServer;
  let conns: NatsConnection[] = [];
  before(async () => {
    server = await NatsServer.start();
    conns = await Promise.all(Array.from({ length: PROCESSES }, () => connect({ servers: server.url })));
  });
  after(async () => {
    await Promise.all(conns.map((nc) => nc.close()));
    await server.stop();
  });

  it(`${PROCESSES} ensureTopology() at once on a new stream all succeed, with no retry`, SLOW, async () => {
    const names = namesFor("race_topo");
    const jsms = await Promise.all(conns.map((nc) => jetstreamManager(nc)));
    const settled = await Promise.allSettled(jsms.map((jsm) => ensureTopology(jsm, names, { ackWait: 30 })));
    assert.deepEqual(settled.filter((s) => s.status === "rejected"), []);
    const jsm = jsms[0];
    const consumers = [];
    for await (const c of jsm.consumers.list(names.stream)) consumers.push(c.name);
    // The work consumer (priority 5 and plain subjects), the delayed releaser, and one consumer per other priority level.
    const levels = PRIORITY_LEVELS.filter((l) => l !== DEFAULT_PRIORITY).map((l) => levelConsumer(names, l));
    assert.deepEqual(consumers.sort(), [names.consumer, names.delayedConsumer, ...levels].sort());
    assert.equal((await jsm.streams.info(names.dlqStream)).config.name, names.dlqStream);
  });

  it(`${PROCESSES} workers' set-ups at once (streams, consumers and every bucket) all succeed`, SLOW, async () => {
    const names = namesFor("race_setup");
    const cfg = { servers: [server.url], stream: names.stream, connectTimeout: 5, ackWait: 30, results: true, resultTtl: 60 };
    const errors: string[] = [];
    const settled = await Promise.allSettled(conns.map((nc) =>
      setUpServer(nc, names, cfg, {
        emit: (e) => {
          if (e.type === "connection.retry") errors.push(e.error);
        },
      })
    ));
    assert.deepEqual(settled.filter((s) => s.status === "rejected"), []);
    assert.deepEqual(errors, [], "no attempt failed for a timeout");
  });
});

describe("create races in a 3-node cluster", () => {
  let cluster: NatsCluster;
  let conns: NatsConnection[] = [];
  before(async () => {
    cluster = await startCluster(3);
    // Two processes on each server: their creates reach the meta leader from different peers.
    conns = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => connect({ servers: cluster.urls[i % 3] })));
  });
  after(async () => {
    await Promise.all(conns.map((nc) => nc.close()));
    await cluster?.stop();
  });

  it(`${PROCESSES} workers' set-ups at once, through every server, all succeed`, SLOW, async () => {
    const names = namesFor("race_cluster");
    const cfg = { servers: cluster.urls, stream: names.stream, connectTimeout: 10, ackWait: 30, results: true, resultTtl: 60 };
    const settled = await Promise.allSettled(conns.map((nc) => setUpServer(nc, names, cfg, { emit: () => {} })));
    assert.deepEqual(settled.filter((s) => s.status === "rejected"), []);
  });
});
