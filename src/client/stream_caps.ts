/**
 * What a stream takes of the primitives a producer uses, read from its config
 * once: the server's per-message TTL (`allow_msg_ttl`, ADR-43, 2.11+: an
 * expiring job also carries `Nats-TTL`) and scheduled messages
 * (`allow_msg_schedules`, ADR-51, 2.12+: the server holds delayed jobs) and
 * atomic batches (`allow_atomic`, ADR-50, 2.12+: many jobs at once). A
 * publish that carries such a header to a stream without the flag is refused,
 * so a producer asks the stream before using either; when it cannot tell (no
 * stream yet, no permission to read it) it uses neither and asks again a while
 * later. Nothing is asked of a server too old for both.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverFeatures } from "../core/server_features.ts";
import { delayHolder, type DelayHolder } from "../core/job/delay_hold.ts";
import { messageTtlSeconds } from "../core/job/expiry.ts";
import { type OutgoingJob, publishJob } from "./producer.ts";
import { isSchedulesDisabled } from "./server_errors.ts";

/** After a failed look at the stream, how long to use neither primitive before looking again. */
export const PROBE_RETRY_MS = 30_000;

/** What the stream takes. */
export interface StreamCaps {
  /** Jobs may carry `Nats-TTL`. */
  messageTtl: boolean;
  /** Who holds delayed jobs: the server (`@at` schedules) or qw (its delayed subject). */
  delays: DelayHolder;
  /** Many jobs may go in atomic batches (`allow_atomic`, ADR-50, 2.12+). */
  atomic: boolean;
}

const NEITHER: StreamCaps = { messageTtl: false, delays: "qw", atomic: false };

/** Resolves what the stream takes; see {@linkcode streamCapsProbe}. */
export interface StreamCapsProbe {
  (): Promise<StreamCaps>;
  /** The stream refused a schedule (it was created again without the flag): qw holds delayed jobs from now on. */
  schedulesRefused(): void;
}

/**
 * A function that resolves what `stream` takes: a definite answer is asked
 * once; after a failed look the answer is "neither" for
 * {@linkcode PROBE_RETRY_MS}, so no enqueue waits on a stream it cannot read.
 */
export function streamCapsProbe(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  now: () => number = Date.now,
): StreamCapsProbe {
  let answer: Promise<StreamCaps> | null = null;
  let askAgainAt = 0;
  const probe = (() => {
    if (answer !== null) return answer;
    const version = nc.info?.version;
    const f = serverFeatures(version);
    if (!f.messageTtl && !f.scheduleAt && !f.atomicBatch) return answer = Promise.resolve(NEITHER);
    if (now() < askAgainAt) return Promise.resolve(NEITHER);
    return answer = jsm.streams.info(stream).then(
      ({ config }) => ({
        messageTtl: f.messageTtl && config.allow_msg_ttl === true,
        delays: delayHolder(version, config.allow_msg_schedules),
        atomic: f.atomicBatch && config.allow_atomic === true,
      }),
      () => {
        answer = null;
        askAgainAt = now() + PROBE_RETRY_MS;
        return NEITHER;
      },
    );
  }) as StreamCapsProbe;
  probe.schedulesRefused = () => {
    answer = (answer ?? Promise.resolve(NEITHER)).then((c) => ({ ...c, delays: "qw" }));
  };
  return probe;
}

/**
 * Publish one job as the stream takes it: with the server's TTL when it
 * expires and the stream takes `Nats-TTL`, its delay held by the server where
 * it can be (qw's way once the stream refuses schedules: created again
 * without the flag).
 */
export async function publishAsTaken(
  js: JetStreamClient,
  stream: string,
  job: OutgoingJob,
  o: { now: number; caps: StreamCapsProbe },
): Promise<{ seq: number; duplicate: boolean }> {
  const delayed = job.etaMs !== null && job.etaMs > o.now;
  const caps = delayed || job.expiresAt != null ? await o.caps() : NEITHER;
  if (caps.messageTtl && job.expiresAt != null) job.ttl = messageTtlSeconds(job.expiresAt, o.now);
  const delays = delayed ? caps.delays : "qw";
  return await publishJob(js, stream, job, o.now, { delays }).catch((e) => {
    if (delays !== "server" || !isSchedulesDisabled(e)) throw e;
    o.caps.schedulesRefused();
    return publishJob(js, stream, job, o.now, { delays: "qw" });
  });
}
