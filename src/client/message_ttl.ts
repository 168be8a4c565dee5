/**
 * Whether a stream takes the server's per-message TTL (`Nats-TTL`, ADR-43): a
 * nats-server of 2.11+ ({@linkcode serverFeatures}) and a stream created or
 * edited with `allow_msg_ttl`. A publish that carries the header to a stream
 * without it is refused, so a producer asks the stream once; when it cannot
 * tell (no stream yet, no permission) it sends the expiry header alone and
 * asks again a while later.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverFeatures } from "../core/server_features.ts";

/** After a failed look at the stream, how long to send the expiry header alone before looking again. */
export const PROBE_RETRY_MS = 30_000;

/**
 * A function that resolves whether `stream` takes `Nats-TTL`: a definite
 * answer is asked once; after a failed look (no stream yet, no permission to
 * read it) the answer is false for {@linkcode PROBE_RETRY_MS}.
 */
export function messageTtlProbe(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  now: () => number = Date.now,
): () => Promise<boolean> {
  let answer: Promise<boolean> | null = null;
  let askAgainAt = 0;
  return () => {
    if (answer !== null) return answer;
    if (!serverFeatures(nc.info?.version).messageTtl) return answer = Promise.resolve(false);
    if (now() < askAgainAt) return Promise.resolve(false);
    const asked: Promise<boolean> = jsm.streams.info(stream).then(
      (info) => info.config.allow_msg_ttl === true,
      () => {
        answer = null;
        askAgainAt = now() + PROBE_RETRY_MS;
        return false;
      },
    );
    return answer = asked;
  };
}
