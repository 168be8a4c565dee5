/**
 * What the connected nats-server gives a job queue, read once from the version
 * it announces at connect. Every primitive newer than the oldest supported
 * server (2.9.10) is chosen here and nowhere else, so each feature keeps its
 * fallback next to the place that asks.
 */

/** The primitives qw uses when the server has them, each with the release that brought it. */
export interface ServerFeatures {
  /** The reason of a `+TERM <reason>` reaches the MSG_TERMINATED advisory (2.10). */
  termReason: boolean;
  /** Per-message TTL, header `Nats-TTL`, stream `allow_msg_ttl` (ADR-43, 2.11). */
  messageTtl: boolean;
  /** Per-key TTL in a KV bucket (ADR-48, 2.11). */
  kvKeyTtl: boolean;
  /** A consumer paused until a time, resumed by the server or by a request (2.11). */
  consumerPause: boolean;
  /** Atomic batch publish, headers `Nats-Batch-*`, stream `allow_atomic` (ADR-50, 2.12). */
  atomicBatch: boolean;
  /** A message held by the server until `Nats-Schedule: @at ...`, stream `allow_msg_schedules` (ADR-51, 2.12). */
  scheduleAt: boolean;
  /** Distributed counters, stream `allow_msg_counter` (ADR-49, 2.12). */
  counters: boolean;
  /** Repeating schedules held by the server: cron and `@every` (ADR-51, 2.14). */
  scheduleRepeat: boolean;
  /**
   * A pull consumer's inactive threshold counts from its last unacked message's ack wait, not only from its last
   * pull, so a consumer whose jobs run is not removed (2.12, nats-server e937dd950).
   */
  inactiveKeepsPending: boolean;
}

/** The release of each primitive, as [major, minor]: the one table of what needs which server. */
export const FEATURE_SINCE: { readonly [K in keyof ServerFeatures]: readonly [number, number] } = {
  termReason: [2, 10],
  messageTtl: [2, 11],
  kvKeyTtl: [2, 11],
  consumerPause: [2, 11],
  atomicBatch: [2, 12],
  scheduleAt: [2, 12],
  counters: [2, 12],
  scheduleRepeat: [2, 14],
  inactiveKeepsPending: [2, 12],
};

/**
 * Whether a server version string (`2.15.3`, `v2.11.0-beta.1`) is at least major.minor.
 * An unreadable or missing version counts as the oldest server: no newer primitive is assumed.
 */
export function versionAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const [ma, mi] = [Number(m[1]), Number(m[2])];
  return ma > major || (ma === major && mi >= minor);
}

/** The primitives a server of this version gives (all false for an unknown version). */
export function serverFeatures(version: string | undefined): ServerFeatures {
  const out = {} as ServerFeatures;
  for (const [name, [major, minor]] of Object.entries(FEATURE_SINCE) as [keyof ServerFeatures, [number, number]][]) {
    out[name] = versionAtLeast(version, major, minor);
  }
  return out;
}
