/**
 * The full work stream that loses messages it accepted, without qw: only
 * nats.js calls against one local nats-server (`NATS_SERVER_BIN`, default
 * `nats-server` on the PATH).
 *
 * A work-queue stream limited to `max_bytes` with discard `new`; a producer
 * publishes every message until the stream stores it (a refused publish,
 * `maximum bytes exceeded`, is retried); a consumer takes them one by one and
 * acks each after a few ms, which frees room a message at a time. A message is
 * lost when its publish was acknowledged (not as a duplicate) and it was never
 * delivered.
 *
 *   NATS_SERVER_BIN=/usr/sbin/nats-server bun scripts/full_stream_loss.ts      2.9.10: loses messages, oldest first
 *   NATS_SERVER_BIN=.tools/bin/nats-server bun scripts/full_stream_loss.ts     2.15.3: loses none
 *
 * Options (env): N messages (1000), MAX_BYTES (16384), BODY bytes (100), ACK_MS (5).
 * Exits 1 when a message was lost.
 *
 * @module
 */

import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsServer, out } from "./_harness.ts";

const N = Number(process.env.N ?? 1000);
const MAX_BYTES = Number(process.env.MAX_BYTES ?? 16_384);
const BODY = Number(process.env.BODY ?? 100);
const ACK_MS = Number(process.env.ACK_MS ?? 5);
const STREAM = "FULL";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const server = await NatsServer.start();
const nc = await connect({ servers: server.url });
let lost = 0;
try {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({
    name: STREAM, subjects: [`${STREAM}.>`], retention: RetentionPolicy.Workqueue, storage: StorageType.File,
    max_bytes: MAX_BYTES, discard: DiscardPolicy.New,
  });
  await jsm.consumers.add(STREAM, { durable_name: "c", ack_policy: AckPolicy.Explicit, filter_subject: `${STREAM}.>` });

  const stored = new Map<string, number>(); // id -> stream sequence of its publish ack
  const delivered = new Set<string>();
  let refused = 0;
  let duplicates = 0;

  const consumer = await js.consumers.get(STREAM, "c");
  const messages = await consumer.consume({ max_messages: 1 });
  const consuming = (async () => {
    for await (const m of messages) {
      delivered.add(m.subject.slice(STREAM.length + 1));
      await sleep(ACK_MS);
      await m.ackAck();
    }
  })();

  const body = new Uint8Array(BODY).fill(120);
  let next = 0;
  const lane = async () => {
    while (next < N) {
      const id = `m${next++}`;
      for (;;) {
        try {
          const ack = await js.publish(`${STREAM}.${id}`, body, { msgID: id });
          if (ack.duplicate) duplicates++;
          else stored.set(id, ack.seq);
          break;
        } catch {
          refused++;
          await sleep(10);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  // Until everything stored was delivered, or nothing moves for 5 s.
  let last = -1;
  for (let idle = 0; delivered.size < stored.size && idle < 50; idle = delivered.size === last ? idle + 1 : 0) {
    last = delivered.size;
    await sleep(100);
  }
  messages.stop();
  await consuming;
  const missing = [...stored].filter(([id]) => !delivered.has(id));
  lost = missing.length;
  const si = await jsm.streams.info(STREAM);
  out(`nats-server ${nc.info?.version}: ${N} messages into a work-queue stream of max_bytes ${MAX_BYTES}, discard new`);
  out(`stored ${stored.size} (duplicates ${duplicates}), refused ${refused}, delivered ${delivered.size}, left in the stream ${si.state.messages}`);
  out(`lost ${lost}${lost ? `: ${missing.slice(0, 12).map(([id, seq]) => `${id}@${seq}`).join(" ")}${lost > 12 ? " ..." : ""}` : ""}`);
} finally {
  await nc.close();
  await server.stop();
}
process.exit(lost > 0 ? 1 : 0);
