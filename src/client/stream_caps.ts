/**
 * What a stream takes of the primitives a producer uses, read from its config
 * once: the server's per-message TTL (`allow_msg_ttl`, ADR-43, 2.11+: an
 * expiring job also carries `Nats-TTL`) and scheduled messages
 * (`allow_msg_schedules`, ADR-51, 2.12+: the server holds delayed jobs). A
 * publish that carries such a header to a stream without the flag is refused,
 * so a producer asks the stream before using either; when it cannot tell (no
 * stream yet, no permission to read it) it uses neither and asks again a while
 * later. Nothing is asked of a server too old for both.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverFeatures } from "../core/server_features.ts";
import { delayHolder, type DelayHolder } from "../core/job/delay_hold.ts";

/** After a failed look at the stream, how long to use neither primitive before looking again. */
export const PROBE_RETRY_MS = 30_000;

/** What the stream takes. */
export interface StreamCaps {
  /** Jobs may carry `Nats-TTL`. */
  messageTtl: boolean;
  /** Who holds delayed jobs: the server (`@at` schedules) or qw (its delayed subject). */
  delays: DelayHolder;
}

const NEITHER: StreamCaps = { messageTtl: false, delays: "qw" };

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
    if (!f.messageTtl && !f.scheduleAt) return answer = Promise.resolve(NEITHER);
    if (now() < askAgainAt) return Promise.resolve(NEITHER);
    return answer = jsm.streams.info(stream).then(
      ({ config }) => ({
        messageTtl: f.messageTtl && config.allow_msg_ttl === true,
        delays: delayHolder(version, config.allow_msg_schedules),
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
