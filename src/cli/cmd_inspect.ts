/**
 * `qw inspect`: the stream's jobs (waiting, in flight, redelivered, delayed,
 * dead-lettered), per-task counts and consumers, from the server's own info.
 * A table unless `--json`. The numbers are computed in inspect.ts.
 *
 * @module
 */

import type { ConsumerInfo, JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { connectClient, streamNotFound } from "../client/client.ts";
import type { CommandContext } from "./context.ts";
import { errorText } from "../client/connection.ts";
import { buildReport, formatReport, formatWorkers, type InspectReport } from "../ops/inspect.ts";
import { listWorkers, type WorkerRecord } from "../ops/presence.ts";
import { Kvm } from "@nats-io/kv";
import { namesFor } from "../client/topology.ts";

/** Fetch the info of a stream and its consumers and build the report. */
export async function gatherReport(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  now = Date.now,
): Promise<InspectReport> {
  const names = namesFor(stream, consumer);
  let streamInfo: StreamInfo;
  try {
    streamInfo = await jsm.streams.info(stream, { subjects_filter: `${stream}.>` });
  } catch (e) {
    if (/not found/i.test(errorText(e))) throw new Error(streamNotFound("inspect", stream));
    throw e;
  }
  const dlqInfo = await jsm.streams.info(names.dlqStream).catch((e) => {
    if (/not found/i.test(errorText(e))) return null;
    throw e;
  });
  const consumers: ConsumerInfo[] = [];
  for await (const c of jsm.consumers.list(stream)) consumers.push(c);
  const workers = await readWorkers(jsm, names.workersBucket);
  return buildReport({ stream, consumer: names.consumer, streamInfo, dlqInfo, consumers, workers, now: now() });
}

/** The live worker records; none when no worker created the bucket yet. */
async function readWorkers(jsm: JetStreamManager, bucket: string): Promise<WorkerRecord[]> {
  try {
    await jsm.streams.info(`KV_${bucket}`);
  } catch (e) {
    if (/not found/i.test(errorText(e))) return [];
    throw e;
  }
  return await listWorkers(await new Kvm(jsm.jetstream()).open(bucket));
}

/** Runs `qw inspect`; resolves to the exit code. */
export async function runInspect(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const client = await connectClient(config, { events: ctx.events });
  try {
    const report = await gatherReport(client.jsm, config.stream, config.consumer);
    if (ctx.cli.flags.workers) {
      ctx.out(ctx.cli.flags.json ? JSON.stringify({ workers: report.workers }) + "\n" : formatWorkers(report.workers, Date.now()) + "\n");
    } else {
      ctx.out(ctx.cli.flags.json ? JSON.stringify(report) + "\n" : formatReport(report, Date.now()));
    }
    return 0;
  } finally {
    await client.close();
  }
}
