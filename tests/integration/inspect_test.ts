/**
 * `qw inspect` against a real nats-server: with waiting, in-flight,
 * redelivered, delayed and dead-lettered jobs, its numbers are the server's
 * own stream and consumer info.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runQw } from "../helpers/cli.ts";
import { fileURLToPath } from "node:url";
import { type ConsumerInfo, jetstream, type StreamInfo } from "@nats-io/jetstream";
import { type Client, connectClient } from "../../src/client/client.ts";
import { gatherReport } from "../../src/ops/server_view.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { activeAt, type InspectReport } from "../../src/ops/inspect.ts";
import { type Service, startService } from "../../src/worker/service.ts";
import { ensureTopology, namesFor } from "../../src/client/topology.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

const TASKS = fileURLToPath(new URL("../fixtures/tasks/producer.ts", import.meta.url));
const STREAM = "insp";
const names = namesFor(STREAM);

/** Run the `qw` CLI from source under Bun (the same in both test runtimes). */
const qw = (args: string[]) => runQw(args, { flavor: "bun" });

interface ServerView {
  stream: StreamInfo;
  dlq: StreamInfo;
  main: ConsumerInfo;
  delayed: ConsumerInfo;
}

describe("qw inspect", () => {
  let server: NatsServer;
  let client: Client;
  let service: Service | undefined;

  before(async () => {
    server = await NatsServer.start();
    client = await connectClient({ servers: server.url, stream: STREAM });
  });

  after(async () => {
    await service?.close("test done", { graceSeconds: 0 });
    await client.close();
    await server.stop();
  });

  const serverView = async (): Promise<ServerView> => {
    const [stream, dlq, main, delayed] = await Promise.all([
      client.jsm.streams.info(STREAM, { subjects_filter: `${STREAM}.>` }),
      client.jsm.streams.info(names.dlqStream),
      client.jsm.consumers.info(STREAM, names.consumer),
      client.jsm.consumers.info(STREAM, names.delayedConsumer),
    ]);
    return { stream, dlq, main, delayed };
  };

  /** Since 2.10 every info carries `ts`, the server's time of the answer, which differs between two views. */
  const withoutTs = (key: string, value: unknown) => (key === "ts" ? undefined : value);

  /** The report, taken between two identical server views so nothing moved in between. */
  const stableReport = () =>
    waitFor(async () => {
      const before = await serverView();
      const report = await gatherReport(client.jsm, STREAM, names.consumer);
      const after = await serverView();
      const same = JSON.stringify(before, withoutTs) === JSON.stringify(after, withoutTs);
      return same && before.main.num_ack_pending >= 2 && before.dlq.state.messages === 1
        ? { report, view: after }
        : null;
    }, { timeoutMs: 15_000, intervalMs: 200, message: "stable queue" });

  it("reports waiting, in-flight, redelivered, delayed and dead-lettered jobs as the server counts them", {
    timeout: 30_000,
  }, async () => {
    await ensureTopology(client.jsm, names, { ackWait: 30 });
    // Two jobs delivered once and handed back, so the worker gets them redelivered.
    await client.enqueue("slow", [20_000], { id: "r1" });
    await client.enqueue("slow", [20_000], { id: "r2" });
    const consumer = await jetstream(client.nc).consumers.get(STREAM, names.consumer);
    const fetched = await consumer.fetch({ max_messages: 2, expires: 2000 });
    for await (const m of fetched) m.nak();
    await client.enqueue("nosuch", []); // Dead-lettered by the worker (its third slot): unknown task.
    for (let i = 0; i < 6; i++) await client.enqueue("slow", [20_000]);
    await client.enqueue("slow", [1], { countdown: 600 });
    const config = resolveConfig({ server: server.url, stream: STREAM, tasks: TASKS, concurrency: 3 }, {
      env: {},
      cpuCount: 2,
      hostname: "test",
      pid: 1,
    });
    service = await startService(config);

    const { report, view } = await stableReport();
    const expected: Partial<InspectReport> = {
      stream: STREAM,
      consumer: names.consumer,
      messages: view.stream.state.messages,
      waiting: view.main.num_pending,
      inFlight: view.main.num_ack_pending,
      redelivered: view.main.num_redelivered,
      delayed: view.stream.state.subjects![`${STREAM}._delayed.slow`],
      deadLettered: view.dlq.state.messages,
      consumerFound: true,
    };
    assert.deepEqual({ ...report, at: undefined, tasks: undefined, consumers: undefined, workers: undefined, priorities: undefined }, {
      ...expected,
      at: undefined,
      tasks: undefined,
      consumers: undefined,
      workers: undefined,
      priorities: undefined,
    });
    // Every job here is of the default priority: the other levels' consumers exist and hold none.
    assert.deepEqual(report.priorities.map((p) => p.priority), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    assert.deepEqual(report.priorities.filter((p) => p.waiting + p.inFlight > 0).map((p) => p.priority), [5]);
    // The worker of this scenario is running: its record is there.
    assert.equal(report.workers.length, 1);
    // The scenario itself: every kind of job is present.
    assert.deepEqual([report.messages, report.redelivered, report.delayed, report.deadLettered], [9, 2, 1, 1]);
    assert.ok(
      report.inFlight >= 2 && report.waiting >= 1 && report.waiting + report.inFlight === 8,
      JSON.stringify(report),
    );
    assert.deepEqual(report.tasks, [{
      task: "slow",
      queued: view.stream.state.subjects![`${STREAM}.slow`],
      delayed: 1,
    }]);
    assert.equal(report.tasks[0].queued, 8);

    const main = report.consumers.find((c) => c.name === names.consumer)!;
    assert.deepEqual(main, {
      name: names.consumer,
      filter: `${STREAM}.*`,
      pending: view.main.num_pending,
      ackPending: view.main.num_ack_pending,
      redelivered: view.main.num_redelivered,
      waitingPulls: view.main.num_waiting,
      lastDelivered: activeAt(view.main.delivered.last_active),
      lastAcked: activeAt(view.main.ack_floor.last_active),
      lastActive: main.lastActive,
    });
    assert.ok(main.lastDelivered !== null && Date.parse(main.lastDelivered) > Date.now() - 60_000);
    const delayed = report.consumers.find((c) => c.name === names.delayedConsumer)!;
    assert.deepEqual([delayed.pending, delayed.ackPending], [view.delayed.num_pending, view.delayed.num_ack_pending]);

    // The CLI prints the same numbers.
    const json = await qw(["inspect", "--server", server.url, "--stream", STREAM, "--json"]);
    assert.deepEqual([json.code, json.stderr], [0, ""]);
    const printed = JSON.parse(json.stdout) as InspectReport;
    const totals = (
      r: InspectReport,
    ) => [r.messages, r.waiting, r.inFlight, r.redelivered, r.delayed, r.deadLettered, r.tasks];
    assert.deepEqual(totals(printed), totals(report));
    const text = await qw(["inspect", "--server", server.url, "--stream", STREAM]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`\\ndelivered, not acked +${report.inFlight}\\n`));
    assert.match(text.stdout, /\nredelivered +2\n/);
    assert.match(text.stdout, /\ndead-lettered +1\n/);
    assert.match(text.stdout, /\nslow +8 +1\n/);
    assert.match(text.stdout, /\nqw_insp +\d+ +\d+ +2 +\d+ +(now|\d+ s ago) /);
  });
});
