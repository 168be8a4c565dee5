/**
 * What a worker is given and what it gives back: the configuration
 * `startService()` takes and the running {@linkcode Service}.
 *
 * @module
 */

import type { ConnectionConfig } from "../client/connection.ts";
import type { Emitter } from "../core/events.ts";
import type { TaskDefaults } from "./pool/protocol.ts";

/** What a worker needs; `ResolvedConfig` from config.ts satisfies it. */
export interface ServiceConfig extends ConnectionConfig {
  stream: string;
  tasks: string;
  consumer: string;
  concurrency: number;
  ackWait: number;
  grace: number;
  maxDeliveries: number;
  results: boolean;
  resultTtl: number;
  /** Publish events on `_qw.events.<stream>`; absent means true. */
  events?: boolean;
  name: string;
  maxTasksPerChild: number | null;
  /** Seconds stalled before /healthz fails; twice this and the service hands back its jobs and closes. */
  stallTimeout: number;
  /** Seconds a Web Worker may take to load the tasks file. */
  spawnTimeout: number;
  taskDefaults: TaskDefaults;
  /** "host:port" of /healthz, /readyz and /metrics; null or absent serves none. */
  http?: string | null;
  /** Publish the ticks of the tasks' schedules; absent means true. */
  schedules?: boolean;
}

/** A running worker. */
export interface Service {
  readonly events: Emitter;
  /** Tasks the tasks file exports, with resolved options. */
  readonly tasks: string[];
  /** Messages held right now (queued or running). */
  readonly held: number;
  /** "host:port" the HTTP endpoint listens on, or null. */
  readonly httpAddress: string | null;
  /** Stop pulling, finish or hand back every job, drain, terminate. Idempotent. */
  close(reason?: string, options?: { graceSeconds?: number }): Promise<void>;
  /** Resolves when the service closed (by close() or a fatal error). */
  readonly closed: Promise<void>;
  /** Why the service closed on its own (the connection was lost for good), or null. */
  readonly fatal: string | null;
  [Symbol.asyncDispose](): Promise<void>;
}
