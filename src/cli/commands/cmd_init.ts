/**
 * `qw init`: create what a worker creates at start (the work stream, its two
 * consumers, the dead-letter stream and the results bucket) without running
 * one, so producers deployed first have somewhere to publish. Prints each
 * with whether it was created now or existed already. An existing stream is
 * used as it is, as the worker does.
 *
 * @module
 */

import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { CommandContext } from "../context.ts";
import type { QwEvent } from "../../core/events.ts";
import { errorText, openConnection } from "../../client/connection.ts";
import { ensureTopology, type Names, namesFor } from "../../client/topology.ts";
import { KvResultStore } from "../../client/buckets/result_store.ts";
import { settingUp } from "../../worker/setup.ts";
import { isNotFound } from "../../client/server_errors.ts";

/** One thing `qw init` sets up. */
export interface InitItem {
  kind: "stream" | "consumer" | "KV bucket";
  name: string;
  /** What it is for, in a few words. */
  what: string;
  existed: boolean;
}

/** The report of `qw init`, one line a thing. Pure. */
export function formatInit(items: InitItem[]): string {
  const width = Math.max(...items.map((i) => `${i.kind} '${i.name}'`.length));
  return items
    .map((i) => `${`${i.kind} '${i.name}'`.padEnd(width)}  ${i.existed ? "exists " : "created"}  ${i.what}\n`)
    .join("");
}

/** What `qw init` sets up for these names, with results on or off. Pure. */
export function initPlan(names: Names, results: boolean): Omit<InitItem, "existed">[] {
  const plan: Omit<InitItem, "existed">[] = [
    { kind: "stream", name: names.stream, what: `jobs on ${names.stream}.<task>` },
    { kind: "consumer", name: names.consumer, what: `pulls ${names.stream}.* for every worker` },
    { kind: "consumer", name: names.delayedConsumer, what: `releases ${names.stream}._delayed.* at their eta` },
    { kind: "stream", name: names.dlqStream, what: "dead letters" },
  ];
  if (results) plan.push({ kind: "KV bucket", name: names.resultsBucket, what: "results by task id" });
  return plan;
}

async function exists(jsm: JetStreamManager, names: Names, item: Omit<InitItem, "existed">): Promise<boolean> {
  try {
    if (item.kind === "stream") await jsm.streams.info(item.name);
    else if (item.kind === "consumer") await jsm.consumers.info(names.stream, item.name);
    else await jsm.streams.info(`KV_${item.name}`);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Runs `qw init`; resolves to the exit code. */
export async function runInit(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const names = namesFor(config.stream, config.consumer);
  // The close this command does itself is not worth a line.
  const emit = (e: QwEvent) => void (e.type === "connection.status" && e.status === "close" ? null : ctx.events.emit(e));
  const nc = await openConnection(config, { name: "qw init", emit });
  try {
    const jsm = await jetstreamManager(nc).catch((e) => {
      throw new Error(`Cannot use JetStream on '${config.servers.join(",")}': ${errorText(e)} (start nats-server with -js)`);
    });
    const plan = initPlan(names, config.results);
    const existed = await Promise.all(plan.map((item) => exists(jsm, names, item)));
    // Several pods' init containers may run it at once: a raced create is retried.
    await settingUp(config, emit, async () => {
      // The one way to change an existing consumer's ack wait: a worker start never does.
      await ensureTopology(jsm, names, {
        ackWait: config.ackWait,
        setAckWait: true,
        serverVersion: nc.info?.version,
        emit: (e) => void (e.type === "consumer.ack_wait" ? emit(e) : null),
      });
      if (config.results) await KvResultStore.open(nc, names.resultsBucket, { ttl: config.resultTtl });
    });
    ctx.out(formatInit(plan.map((item, i) => ({ ...item, existed: existed[i] }))));
    return 0;
  } finally {
    await nc.close().catch(() => {});
  }
}
