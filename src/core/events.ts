/**
 * The typed events qw emits, and a tiny emitter. No logging, no I/O: the CLI
 * turns events into log lines; embedders pick their own sink.
 *
 * @module
 */

import type { CatchUp, SerializedError, TaskState } from "./types.ts";

/** Fields every job event carries. */
export interface JobFields {
  id: string;
  task: string;
  retries: number;
  deliveryCount: number;
  /** Stream sequence of the message. */
  seq: number;
  /** The trace and span of the run the event is about (W3C hex ids), when runs are traced. */
  traceId?: string;
  spanId?: string;
}

/** Why a held job went back to the server unfinished: shutdown, it waited too long without starting, or the pool stalled. */
export type HandBackCause = "shutdown" | "waited" | "stall" | "paused";

/** Everything qw reports. */
export type QwEvent =
  | {
    type: "service.started";
    stream: string;
    consumer: string;
    concurrency: number;
    tasks: string[];
    /** Who holds delayed retries: the server (ADR-51 schedules) or qw's delayed consumer. */
    delays?: "server" | "qw";
  }
  | { type: "service.closing"; reason: string }
  /** Closing waits up to `graceSeconds` for the jobs running now; a second close() with grace 0 cuts it short. */
  | { type: "service.draining"; running: number; graceSeconds: number }
  | { type: "service.closed"; handedBack: number }
  | { type: "stream.created"; stream: string; subjects: string[] }
  | { type: "connection.status"; status: string; detail?: string }
  | { type: "connection.retry"; attempt: number; error: string; server: string; timeoutSeconds: number }
  | ({ type: "job.started" } & JobFields)
  | ({ type: "job.succeeded"; ms: number } & JobFields)
  | ({ type: "job.failed"; ms: number; error: SerializedError } & JobFields)
  | ({ type: "job.retry_scheduled"; countdown: number; error?: SerializedError } & JobFields)
  | ({ type: "job.requeued"; reason?: string; note?: string } & JobFields)
  | ({ type: "job.rejected"; reason: string; error?: SerializedError } & JobFields)
  | ({ type: "job.ignored" } & JobFields)
  | ({ type: "job.revoked"; reason: string } & JobFields)
  /** Not started by its expiry (`expiresAt`, epoch ms): never runs, stored REVOKED with reason `expired`. */
  | ({ type: "job.expired"; expiresAt: number } & JobFields)
  | ({ type: "job.handed_back"; reason: string; cause: HandBackCause } & JobFields)
  /** The server delivered again a message this process still holds: the same job, not run a second time. */
  | ({ type: "job.redelivered_held" } & JobFields)
  | ({ type: "job.deferred"; until: number } & JobFields)
  | { type: "job.invalid"; seq: number; subject: string; reason: string }
  | { type: "worker.lost"; worker: number; reason: string }
  | { type: "worker.time_limit"; worker: number; task: string; id: string }
  | { type: "worker.recycled"; worker: number; jobs: number }
  | { type: "worker.spawn_failed"; worker: number; error: string; attempt: number; retryInMs: number }
  | { type: "pool.size"; ready: number; size: number }
  | { type: "pool.stalled"; waiting: number; seconds: number; fatal: boolean }
  | { type: "pool.recovered"; seconds: number }
  | { type: "result.store_failed"; id: string; state: TaskState; error: string }
  /** The schedules of the tasks file at start (`<task>@<index> <spec>`), and whether this process fires them. */
  | { type: "schedule.started"; schedules: string[]; firing: boolean }
  /** A tick published as a job; `duplicate` when another process had published it first. */
  | { type: "schedule.fired"; task: string; index: number; tick: string; id: string; duplicate: boolean }
  /** Missed ticks not fired, per the schedule's `catchUp`. */
  | { type: "schedule.skipped"; task: string; index: number; ticks: number; catchUp: CatchUp }
  /** The stream's duplicate window is shorter than what relies on it (`reasons`): a job or a tick may run twice. */
  | { type: "stream.dedup_window_short"; stream: string; windowSeconds: number; neededSeconds: number; reasons: string[] }
  /** A task returned something JSON cannot hold (a Map, a BigInt...): stored converted. Once per task and process. */
  | { type: "result.converted"; task: string; id: string; converted: string }
  /**
   * The work consumer's ack wait is not the one this process asked for: kept (a worker start, which then
   * renews and hands back at the consumer's pace) or changed (`qw init`).
   */
  | { type: "consumer.ack_wait"; consumer: string; ackWaitSeconds: number; previousSeconds: number; requestedSeconds: number; changed: boolean }
  /** What is paused changed (`qw pause`, `qw resume`, an `until` passed), or was paused at start: one description per pause. */
  | { type: "pause.changed"; paused: string[] }
  /** A value in the revoked bucket that is not a revoke: ignored. */
  | { type: "revoke.invalid"; bucket: string; key: string; reason: string }
  | { type: "error"; where: string; error: string };

/** The `type` of every event. */
export type QwEventType = QwEvent["type"];

/** A listener for every event. */
export type QwListener = (e: QwEvent) => void;

/** A minimal synchronous emitter; a throwing listener never breaks the emitter. */
export class Emitter {
  #listeners: QwListener[] = [];

  /** Add a listener; returns a function that removes it. */
  on(fn: QwListener): () => void {
    this.#listeners.push(fn);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== fn);
    };
  }

  /** True when someone listens (so callers can skip building events). */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  emit(e: QwEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A broken sink must not take the worker down.
      }
    }
  }
}
