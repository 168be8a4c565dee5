/**
 * What `qw inspect` and the dashboard read from the server: the work stream's
 * info with per-subject counts, its dead-letter stream's, its consumers and
 * the worker records. The numbers are computed in inspect.ts (pure).
 *
 * @module
 */

import type { ConsumerInfo, JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { streamNotFound } from "../client/client.ts";
import { openBucket } from "../client/buckets/buckets.ts";
import { namesFor } from "../client/topology.ts";
import { buildReport, type InspectReport } from "./inspect.ts";
import { listWorkers } from "./presence.ts";
import { isStreamNotFound } from "../client/server_errors.ts";

/** The server's own info about one work stream. */
export interface ServerView {
  streamInfo: StreamInfo;
  /** Null when the dead-letter stream does not exist yet. */
  dlqInfo: StreamInfo | null;
  consumers: ConsumerInfo[];
}


/** Read the view of `stream`; null when the stream does not exist. */
export async function readServerView(jsm: JetStreamManager, stream: string): Promise<ServerView | null> {
  let streamInfo: StreamInfo;
  try {
    streamInfo = await jsm.streams.info(stream, { subjects_filter: `${stream}.>` });
  } catch (e) {
    if (isStreamNotFound(e)) return null;
    throw e;
  }
  const dlq = namesFor(stream).dlqStream;
  const dlqInfo = await jsm.streams.info(dlq, { subjects_filter: `${dlq}.>` }).catch((e) => {
    if (isStreamNotFound(e)) return null;
    throw e;
  });
  const consumers: ConsumerInfo[] = [];
  for await (const c of jsm.consumers.list(stream)) consumers.push(c);
  return { streamInfo, dlqInfo, consumers };
}

/** Fetch the info of a stream, its consumers and its workers and build the report of `qw inspect`. */
export async function gatherReport(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  now = Date.now,
): Promise<InspectReport> {
  const view = await readServerView(jsm, stream);
  if (view === null) throw new Error(streamNotFound("inspect", stream));
  const names = namesFor(stream, consumer);
  const kv = await openBucket(jsm, names.workersBucket);
  const workers = kv === null ? [] : await listWorkers(kv);
  return buildReport({ stream, consumer: names.consumer, ...view, workers, now: now() });
}
