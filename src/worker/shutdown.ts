/**
 * A worker's close, in order: stop the schedules and pulling, hand back what
 * waits, give running jobs their grace period, hand back what is left, stop
 * the worker record and HTTP, then drain. Each step has its own catch, so a
 * failing step emits an error event and the rest still run.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { errorText } from "../client/connection.ts";
import type { RevokedSet } from "../client/buckets/revocations.ts";
import type { QwEvent } from "../core/events.ts";
import type { EventPublisher } from "../ops/event_publisher.ts";
import type { Health, HttpServer } from "../ops/http.ts";
import type { Presence } from "../ops/presence.ts";
import type { Pullers } from "./keys/keyed_intake.ts";
import type { Dispatcher, Held } from "./intake/dispatch.ts";
import type { BatchPool } from "./pool/batch_pool.ts";
import type { DelayedRelease } from "./schedules/delayed_release.ts";
import type { FiringHandle } from "./schedules/schedule_firing.ts";

/** What close() stops, and the service's state it reads. */
export interface ShutdownParts {
  cfg: { grace: number };
  nc: NatsConnection;
  pool: BatchPool<Held>;
  dispatcher: Dispatcher;
  puller: Pullers;
  delayedRelease: DelayedRelease;
  firing: FiringHandle;
  presence: Presence;
  health: Health;
  http: HttpServer | null;
  publisher: EventPublisher;
  revokes: RevokedSet;
  emit(e: QwEvent): void;
  stopWatch(): void;
  /** Why the service closes on its own, or null for a close that was asked for. */
  fatal(): string | null;
  setDraining(): void;
  stopLeases(): void;
}

/** The service's close(): idempotent; `closing` is true once it began, `closed` resolves when it ended. */
export interface Shutdown {
  close(reason?: string, o?: { graceSeconds?: number }): Promise<void>;
  readonly closing: boolean;
  readonly closed: Promise<void>;
}

/** Build the close sequence of one service. */
export function shutdown(p: ShutdownParts): Shutdown {
  const { nc, pool, dispatcher, puller, delayedRelease, firing, presence, health, http, publisher, revokes, emit, cfg } = p;
  const online = () => health.connected;
let closing: Promise<void> | null = null;
let resolveClosed!: () => void;
const closed = new Promise<void>((r) => (resolveClosed = r));
const step = async (where: string, f: () => Promise<unknown> | unknown) => {
  try {
    await f();
  } catch (e) {
    emit({ type: "error", where, error: errorText(e) });
  }
};
const close = (reason = "close() called", o: { graceSeconds?: number } = {}): Promise<void> => {
  if (closing) {
    if (o.graceSeconds === 0) {
      emit({ type: "service.closing", reason });
      pool.hurry();
    }
    return closing;
  }
  return closing = (async () => {
    emit({ type: "service.closing", reason });
    p.stopWatch();
    p.setDraining();
    if (health.connected) void presence.refresh();
    // This process publishes no tick once it is going away.
    await step("close.schedules", () => firing.stop());
    // Pulling stops at once; open pull requests run out while running jobs
    // finish. With the connection down nothing can arrive, and nothing that
    // needs the server (pulls running out, deleting the worker record, a
    // drain) is waited for: the record expires by itself.
    const waitForPulls = health.connected;
    const cause = p.fatal() === null ? "shutdown" : "stall";
    // Jobs not started go back at once, not after the grace period: another process can run them now.
    let handedBack = dispatcher.releaseWaiting();
    const giveBackUnstarted = () => {
      const unstarted = pool.stop();
      for (const h of unstarted) dispatcher.handBack(h, "not started before shutdown", cause);
      handedBack += unstarted.length;
    };
    giveBackUnstarted();
    const stopping = step("close.consumer", async () => {
      await Promise.all([puller.stop({ waitForPulls }), delayedRelease.stop({ waitForPulls })]);
      // What arrived while the last pulls ran out.
      giveBackUnstarted();
    });
    const graceSeconds = o.graceSeconds ?? cfg.grace;
    const running = pool.status().running;
    if (running > 0 && graceSeconds > 0) emit({ type: "service.draining", running, graceSeconds });
    await step("close.pool", async () => {
      const { unstarted, unfinished } = await pool.close({ timeoutMs: graceSeconds * 1000 });
      for (const h of unstarted) dispatcher.handBack(h, "not started before shutdown", cause);
      for (const h of unfinished) dispatcher.handBack(h, "still running when the grace period ended", cause);
      handedBack += unstarted.length + unfinished.length;
    });
    await stopping;
    p.stopLeases();
    // Whatever is still held and not being settled goes back, so nothing waits for this process.
    dispatcher.stopSettling();
    for (const h of [...dispatcher.held]) {
      if (h.state === "settling" || h.acked) continue;
      dispatcher.handBack(h, p.fatal() === null ? "still held at shutdown" : "the pool stalled", cause);
      handedBack++;
    }
    // Copies of handed-back jobs, acks and result writes in flight land before the connection drains.
    await step("close.settle", () => dispatcher.idle(online() ? 5_000 : 0));
    revokes.stop();
    const isOnline = online();
    await step("close.presence", () => presence.stop({ deleteRecord: isOnline }));
    await step("close.http", () => http?.close());
    // Every job is settled or handed back: say so while the event can still be published.
    emit({ type: "service.closed", handedBack });
    publisher.close();
    await step("close.drain", () => (isOnline ? nc.drain() : nc.close()));
    resolveClosed();
  })();
};

  return {
    close,
    get closing() {
      return closing !== null;
    },
    closed,
  };
}
