/**
 * The dispatcher's side effects on JetStream: publish a retry, a rate-limit
 * deferral or a dead letter, and remove a rejected message.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Held, JobSink } from "../intake/dispatch.ts";
import { RATE_SLOT_HEADER } from "../intake/dispatch.ts";
import { Header, type OutgoingJob, publishDeadLetter, publishJob, type PublishOptions } from "../../client/producer.ts";
import type { Names } from "../../client/topology.ts";
import { spanHeaders } from "../../client/trace_context.ts";
import type { KV } from "@nats-io/kv";
import { openBucket } from "../../client/buckets/buckets.ts";
import { releaseUnique } from "../../client/unique_jobs.ts";
import { uniqueBucket } from "../../core/job/unique.ts";
import { priorityOfSubject } from "../../core/job/priority.ts";

/**
 * Whether header `name` of a job travels to its next attempt or copy: the caller's own (not qw's or NATS's), a
 * flow's mark, a concurrency key, and a unique key, which the job holds until it ends for good (a debounced job holds none). Pure.
 */
export function isCarried(name: string, debounced: boolean): boolean {
  return !/^(Qw-|Nats-)/i.test(name) || /^qw-(flow|concurrency-key)$/i.test(name) || (!debounced && /^qw-unique$/i.test(name));
}

/** The headers of a job to carry over to its next attempt ({@linkcode isCarried}), then `extra`. */
export function carriedHeaders(h: Held, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const debounced = (h.msg.headers?.get(Header.debounce) ?? "") !== "";
  if (h.msg.headers) for (const [k, vs] of h.msg.headers) if (isCarried(k, debounced)) out[k] = vs[0];
  return { ...out, ...extra };
}

/**
 * The next attempt of a job: the same body, task id and expiry, `retries`
 * retries, after `countdown` seconds. Traced, it carries the context of the
 * run that scheduled it (a child of that run). Pure.
 */
export function retryJob(h: Held, countdown: number, retries: number, now: number): OutgoingJob {
  const etaMs = countdown > 0 ? now + countdown * 1000 : null;
  const headers = carriedHeaders(h, h.span === undefined ? {} : spanHeaders(h.span));
  return { task: h.task, data: h.msg.data, id: h.id, retries, etaMs, headers, expiresAt: h.expiresAt, priority: priorityOfSubject(h.msg.subject) };
}

/** A {@linkcode JobSink} that publishes to the stream's subjects; `delays` says who holds a delayed retry (not a rate-limit deferral). */
export function jetStreamSink(js: JetStreamClient, jsm: JetStreamManager, names: Names, o: PublishOptions = {}): JobSink {
  const { stream } = names;
  // Opened at the first job with a unique key; none while no producer created the bucket.
  let unique: Promise<KV | null> | null = null;
  return {
    async retry(h, countdown, retries) {
      const now = Date.now();
      await publishJob(js, stream, retryJob(h, countdown, retries, now), now, o);
    },
    // A deferral always waits the qw way: the server fires due schedules in passes at least 250 ms apart, so
    // deferrals 100 ms apart would arrive together and run together, past the rate limit.
    async defer(h, at, reserved = true) {
      const headers = carriedHeaders(h, reserved ? { [RATE_SLOT_HEADER]: String(at) } : {});
      await publishJob(js, stream, {
        task: h.task, data: h.msg.data, id: h.id, retries: h.retries, etaMs: at, headers, dedupSuffix: `rl:${h.seq}`, expiresAt: h.expiresAt,
        priority: priorityOfSubject(h.msg.subject),
      });
    },
    async handBack(h, runsBefore) {
      const headers = carriedHeaders(h, runsBefore > 0 ? { [Header.runs]: String(runsBefore) } : {});
      await publishJob(js, stream, {
        task: h.task, data: h.msg.data, id: h.id, retries: h.retries, etaMs: null, headers, dedupSuffix: `hb:${h.seq}:${h.deliveryCount}`,
        expiresAt: h.expiresAt, priority: priorityOfSubject(h.msg.subject),
      });
    },
    async deadLetter(h, reason, error) {
      const task = "task" in h ? h.task : h.msg.subject.slice(stream.length + 1);
      await publishDeadLetter(js, names.dlqStream, { msg: h.msg, task, reason, error, stream });
    },
    async releaseUnique(h, key) {
      unique ??= openBucket(jsm, uniqueBucket(stream)).catch(() => null);
      const kv = await unique;
      if (kv === null) unique = null;
      if (kv) await releaseUnique(kv, h.task, key, h.id);
    },
    remove(seq) {
      // Already gone is fine (an early-acked job, or another worker got there first).
      jsm.streams.deleteMessage(stream, seq, false).catch(() => {});
    },
  };
}
