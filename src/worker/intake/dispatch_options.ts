/**
 * What the dispatcher (dispatch.ts) is given: its collaborators (the pool, the
 * flows, the sink, the results store) and settings. Types only.
 *
 * @module
 */

import type { RandomSource } from "../../core/job/backoff.ts";
import type { Emitter } from "../../core/events.ts";
import type { ResultStore } from "../../client/buckets/result_store.ts";
import type { RevokeRecord } from "../../client/buckets/revocations.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import type { PoolJob } from "../pool/pool.ts";
import type { FlowStarter } from "../flows/flow_steps.ts";
import type { Held, JobSink } from "./held.ts";
import type { RunSpans } from "../settle/run_spans.ts";
import type { RateCounter } from "../../client/buckets/rate_counters.ts";

/** Collaborators and settings of the dispatcher (dispatch.ts). */
export interface DispatchOptions {
  stream: string;
  tasks: () => Record<string, ResolvedTaskOptions>;
  submit: (job: PoolJob<Held>) => void;
  /** Take a job back from the pool if it has not started; false when it has. */
  withdraw: (h: Held) => boolean;
  /** Starts flows and advances them; null without flows (no results bucket). */
  flows?: FlowStarter | null;
  /** Terminate the Web Worker running a job; false when it does not run (yet). */
  terminate: (h: Held) => boolean;
  /** The revoke of a task id, if it was revoked. */
  revoked: (id: string) => RevokeRecord | undefined;
  sink: JobSink;
  store: ResultStore | null;
  emitter: Emitter;
  maxDeliveries: number;
  ackWaitMs: number;
  workerName: string;
  /** Send the reason with a term; nats-server before 2.10 ignores a term that carries one. */
  termReasons: boolean;
  random?: RandomSource;
  now?: () => number;
  /** Waits between tries of a result write (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Whether the connection is up (a hand-back then publishes a copy); absent means always. */
  connected?: () => boolean;
  /** Opens the counters of rate limits shared by the stream's processes; absent: every limit is per process. */
  rateCounter?: () => Promise<RateCounter>;
  /** The spans of runs; null or absent when tracing is off. */
  spans?: RunSpans | null;
}
