/**
 * A qw worker against a real nats-server, observed from outside: the fixture
 * tasks' record files (executions), the server's consumer and stream info
 * (broker actions), the dead-letter stream and the KV results. Runs under Bun
 * and Deno.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import {
  type ConsumerInfo,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import { headers as makeHeaders, type NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { type QwOptions, resolveConfig } from "../../src/core/config/config.ts";
import { Emitter, type QwEvent, type QwEventType } from "../../src/core/events.ts";
import { keyFor, type ResultRecord } from "../../src/client/buckets/result_store.ts";
import { type Service, startService } from "../../src/worker/service.ts";
import { type Names, namesFor } from "../../src/client/topology.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";
import { NatsServer, type NatsServerOptions } from "./nats_server.ts";
import { sleep, waitFor } from "./wait.ts";

export type { RunRecord };

export const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** A slow test: Bun's default per-test timeout is 5 s. */
export const SLOW = { timeout: 30_000 };

/** A nats-server for one test file and a client connection to it. */
export class Broker {
  private constructor(
    readonly server: NatsServer,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly dir: string,
  ) {}

  static async start(opts: NatsServerOptions = {}): Promise<Broker> {
    const server = await NatsServer.start(opts);
    const nc = await connect({ servers: server.url });
    const dir = mkdtempSync(join(tmpdir(), "qw-runs-"));
    return new Broker(server, nc, jetstream(nc), await jetstreamManager(nc), dir);
  }

  async stop(): Promise<void> {
    await this.nc.close();
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A DLQ message as the server stored it. */
export interface DeadLetter {
  subject: string;
  reason: string;
  error: string | null;
  deliveries: number;
  data: string;
}

/** A started worker on its own stream, with everything a test observes. */
export class Run {
  #kv: KV | null = null;
  #n = 0;

  constructor(
    readonly broker: Broker,
    readonly svc: Service,
    readonly names: Names,
    /** The record file every job of this run gets as its first argument. */
    readonly file: string,
    /** Stream sequences the server reported as terminated (its MSG_TERMINATED advisories). */
    readonly terminated: number[],
    /** Every event the worker emitted, from its start. */
    readonly events: QwEvent[],
    /** When each event was emitted (epoch ms). */
    readonly times: Map<QwEvent, number>,
  ) {}

  get stream(): string {
    return this.names.stream;
  }

  /** Publish a job whose args are [record file, ...args]; resolves with its stream sequence. */
  async publish(task: string, args: unknown[] = [], o: { id?: string } = {}): Promise<number> {
    return await this.publishRaw(task, JSON.stringify({ args: [this.file, ...args] }), o);
  }

  /** Publish a body as given, to `<stream>.<task>`. */
  async publishRaw(task: string, body: string, o: { id?: string } = {}): Promise<number> {
    const headers = makeHeaders();
    if (o.id) headers.set("Qw-Id", o.id);
    const ack = await this.broker.js.publish(`${this.stream}.${task}`, body, { headers });
    return ack.seq;
  }

  /** Every execution so far, in order. */
  runs(): RunRecord[] {
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return [];
    }
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as RunRecord);
  }

  /** Executions (records without a note) of one task. */
  executions(task?: string): RunRecord[] {
    return this.runs().filter((r) => r.note === undefined && (task === undefined || r.task === task));
  }

  async waitExecutions(n: number, task?: string, timeoutMs = 15_000): Promise<RunRecord[]> {
    return await waitFor(() => {
      const runs = this.executions(task);
      return runs.length >= n ? runs : null;
    }, { timeoutMs, message: `${n} executions of ${task ?? "any task"}` });
  }

  /** The first event of a type (and matching `pred`), waiting for it. */
  async waitEvent<T extends QwEventType>(
    type: T,
    pred: (e: Extract<QwEvent, { type: T }>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<Extract<QwEvent, { type: T }>> {
    return await waitFor(
      () =>
        this.events.find((e): e is Extract<QwEvent, { type: T }> =>
          e.type === type && pred(e as Extract<QwEvent, { type: T }>)
        ),
      { timeoutMs, message: `event ${type}` },
    );
  }

  count(type: QwEventType): number {
    return this.events.filter((e) => e.type === type).length;
  }

  consumer(): Promise<ConsumerInfo> {
    return this.broker.jsm.consumers.info(this.stream, this.names.consumer);
  }

  /** Messages in the work stream (ready and delayed jobs; acked and termed ones are removed). */
  async streamMessages(): Promise<number> {
    return (await this.broker.jsm.streams.info(this.stream)).state.messages;
  }

  /** Wait until the server holds nothing for the work consumer: nothing pending, nothing unacked, stream empty. */
  async settled(timeoutMs = 15_000): Promise<ConsumerInfo> {
    return await waitFor(async () => {
      const ci = await this.consumer();
      const empty = ci.num_pending === 0 && ci.num_ack_pending === 0 && (await this.streamMessages()) === 0;
      return empty && this.svc.held === 0 ? ci : null;
    }, { timeoutMs, message: "consumer settled" });
  }

  /** Every message of the dead-letter stream. */
  async deadLetters(): Promise<DeadLetter[]> {
    const { jsm } = this.broker;
    const info = await jsm.streams.info(this.names.dlqStream);
    const out: DeadLetter[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(this.names.dlqStream, { seq });
      if (!m) continue;
      out.push({
        subject: m.subject,
        reason: m.header.get("Qw-Dlq-Reason"),
        error: m.header.get("Qw-Dlq-Error") || null,
        deliveries: Number(m.header.get("Qw-Dlq-Deliveries")),
        data: m.string(),
      });
    }
    return out;
  }

  async waitDeadLetters(n: number, timeoutMs = 15_000): Promise<DeadLetter[]> {
    return await waitFor(async () => {
      const d = await this.deadLetters();
      return d.length >= n ? d : null;
    }, { timeoutMs, message: `${n} dead letters` });
  }

  /** The stored result of a task id, or null. */
  async result(id: string): Promise<ResultRecord | null> {
    this.#kv ??= await new Kvm(this.broker.nc).open(this.names.resultsBucket);
    const e = await this.#kv.get(keyFor(id));
    return e && e.operation === "PUT" ? e.json<ResultRecord>() : null;
  }

  /** Wait for the stored result of `id` to be in `state` (and match `pred`). */
  async waitResult(id: string, state?: string, pred: (r: ResultRecord) => boolean = () => true): Promise<ResultRecord> {
    return await waitFor(async () => {
      const r = await this.result(id);
      return r && (state === undefined || r.state === state) && pred(r) ? r : null;
    }, { timeoutMs: 15_000, message: `result of ${id}${state ? ` in state ${state}` : ""}` });
  }

  /** A fresh task id. */
  id(): string {
    return `t${++this.#n}-${crypto.randomUUID().slice(0, 8)}`;
  }

  async close(): Promise<void> {
    await this.svc.close("test done", { graceSeconds: 1 });
  }
}

/** Start a worker on a fresh stream; `options` are worker-wide (the CLI's flags). */
export async function startRun(broker: Broker, tasks: string, options: QwOptions = {}): Promise<Run> {
  const stream = "s_" + crypto.randomUUID().slice(0, 8).replace(/-/g, "");
  const cfg = resolveConfig(
    {
      server: broker.server.url,
      stream,
      tasks: `tests/fixtures/tasks/${tasks}`,
      concurrency: 2,
      ackWait: 2,
      grace: 1,
      ...options,
    },
    { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
  );
  const names = namesFor(stream, cfg.consumer);
  const file = join(broker.dir, `${stream}.jsonl`);
  // Subscribe before the worker starts, so no advisory is missed.
  const terminated: number[] = [];
  const sub = broker.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${stream}.${names.consumer}`, {
    callback: (_err, m) => {
      if (m) terminated.push((m.json() as { stream_seq: number }).stream_seq);
    },
  });
  await broker.nc.flush();
  const events: QwEvent[] = [];
  const times = new Map<QwEvent, number>();
  const emitter = new Emitter();
  emitter.on((e) => {
    events.push(e);
    times.set(e, Date.now());
  });
  let svc: Service;
  try {
    svc = await startService(cfg, { events: emitter });
  } catch (e) {
    sub.unsubscribe();
    throw e;
  }
  const run = new Run(broker, svc, names, file, terminated, events, times);
  void svc.closed.then(() => sub.unsubscribe());
  return run;
}

/** Start a worker, run `fn`, and close the worker whatever happens. */
export async function withRun<T>(
  broker: Broker,
  tasks: string,
  options: QwOptions,
  fn: (run: Run) => Promise<T>,
): Promise<T> {
  const run = await startRun(broker, tasks, options);
  try {
    return await fn(run);
  } finally {
    await run.close();
  }
}

/** The server terminated the message (advisory), removed it, and never delivers it again. */
export async function assertTermed(run: Run, seq: number, o: { ackWaitMs: number }): Promise<void> {
  await waitFor(() => run.terminated.includes(seq), { message: `MSG_TERMINATED advisory for seq ${seq}` });
  const ci = await run.settled();
  const executions = run.executions().length;
  await sleep(o.ackWaitMs + 500);
  const later = await run.consumer();
  assert.equal(later.delivered.consumer_seq, ci.delivered.consumer_seq, "never delivered again");
  assert.equal(run.executions().length, executions, "never run again");
  assert.equal(await run.streamMessages(), 0);
}

/** The server holds nothing for this job: acked (not termed), gone from the work stream, delivered `deliveries` times in all. */
export async function assertAcked(run: Run, seq: number, o: { deliveries: number }): Promise<void> {
  const ci = await run.settled();
  assert.ok(ci.ack_floor.stream_seq >= seq, `ack floor ${ci.ack_floor.stream_seq} covers seq ${seq}`);
  assert.equal(ci.delivered.consumer_seq, o.deliveries, "deliveries of the work consumer");
  assert.equal(ci.num_redelivered, 0);
  assert.equal(run.terminated.includes(seq), false, "not termed");
}
