/**
 * Exercises the nats-server test helper against real servers: the other
 * integration tests trust it to start, restart, cluster and clean up.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { NatsServer, startCluster } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

// Cluster start plus leader election can take several seconds; bun's default per-test timeout is 5 s.
const TIMEOUT = { timeout: 60_000 };

describe("NatsServer", () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(running.map((s) => s.stop()));
  });

  it("serves JetStream: add a stream, publish and read back", TIMEOUT, async () => {
    const server = await NatsServer.start();
    running.push(server);
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.ok(server.pid && server.pid > 0);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"] });
      const ack = await jetstream(nc).publish("jobs.email", "hello");
      assert.equal(ack.stream, "JOBS");
      assert.equal(ack.seq, 1);
      const msg = await jsm.streams.getMessage("JOBS", { seq: 1 });
      assert.equal(msg?.subject, "jobs.email");
      assert.equal(msg?.string(), "hello");
    } finally {
      await nc.close();
    }
  });

  it("keeps file-stored messages across restart() on the same port", TIMEOUT, async () => {
    const server = await NatsServer.start();
    running.push(server);
    const { url, port, pid } = server;

    const nc = await connect({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "DURABLE", subjects: ["durable.>"], storage: "file" });
      const js = jetstream(nc);
      for (const n of [1, 2, 3]) await js.publish(`durable.${n}`, `m${n}`);
    } finally {
      await nc.close();
    }

    await server.restart();
    assert.equal(server.url, url);
    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);

    const nc2 = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc2);
      const info = await jsm.streams.info("DURABLE");
      assert.equal(info.state.messages, 3);
      const last = await jsm.streams.getMessage("DURABLE", { last_by_subj: "durable.3" });
      assert.equal(last?.string(), "m3");
    } finally {
      await nc2.close();
    }
  });

  it("forms a 3-node cluster that elects a meta leader and accepts an R3 stream", TIMEOUT, async () => {
    const cluster = await startCluster(3);
    running.push(cluster);
    assert.equal(cluster.servers.length, 3);
    assert.equal(new Set(cluster.urls).size, 3);

    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.getAccountInfo();
      const info = await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 });
      assert.equal(info.config.num_replicas, 3);
      // The create reply may come before the stream's own group has elected its leader (a loaded machine, 2.15).
      await waitFor(async () => Boolean((await jsm.streams.info("R3")).cluster?.leader), {
        timeoutMs: 10_000,
        message: "stream R3 should elect a leader",
      });
      const ack = await jetstream(nc).publish("r3.ping", "pong");
      assert.equal(ack.seq, 1);
    } finally {
      await nc.close();
    }
  });

  it("stop() removes the temp dirs and is idempotent", TIMEOUT, async () => {
    const server = await NatsServer.start();
    const { dir, storeDir } = server;
    assert.ok(existsSync(dir));
    assert.ok(existsSync(storeDir));

    await server.stop();
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(storeDir), false);
    assert.equal(server.pid, undefined);
    await server.stop();
  });

  it("rejects with the server's log tail when it exits during startup", TIMEOUT, async () => {
    await assert.rejects(
      NatsServer.start({ config: "no_such_option: {" }),
      /^Error: nats-server exited during startup \(code 1\): .+/s,
    );
  });

  it("reports a missing binary with an install hint", TIMEOUT, async () => {
    const saved = { bin: process.env.NATS_SERVER_BIN, path: process.env.PATH };
    try {
      process.env.NATS_SERVER_BIN = "/nonexistent/nats-server";
      await assert.rejects(NatsServer.start(), {
        message: "nats-server not found at '/nonexistent/nats-server' (from NATS_SERVER_BIN): " +
          "'make install' builds v2.15.3 into .tools/bin",
      });
      delete process.env.NATS_SERVER_BIN;
      process.env.PATH = "/nonexistent";
      await assert.rejects(NatsServer.start(), {
        message: "nats-server not found on PATH: install it with 'apt-get update && apt-get install -y nats-server'",
      });
    } finally {
      restoreEnv("NATS_SERVER_BIN", saved.bin);
      restoreEnv("PATH", saved.path);
    }
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
