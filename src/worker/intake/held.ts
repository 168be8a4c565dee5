/**
 * A job message from the moment qw pulls it until it is settled, the one way
 * its state changes, and the side effects on JetStream that settling it may
 * need.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import type { Span } from "@opentelemetry/api";
import type { JobFields } from "../../core/events.ts";
import { type JobState, type JobStep, step } from "../../core/job/job_life.ts";
import type { ResolvedTaskOptions, SerializedError } from "../../core/types.ts";
import type { FlowContext } from "../flows/flow_runner.ts";

/** A message the worker holds, from pull to settlement. */
export interface Held extends JobFields {
  msg: JsMsg;
  policy: ResolvedTaskOptions;
  /**
   * Earlier deliveries of this job that may have run: the delivery count less
   * one, plus the runs a handed-back copy carries (`Qw-Runs`). Rules about runs
   * (the delivery cap, requeue-once on a lost Web Worker) read this, never the
   * delivery count alone.
   */
  runsBefore: number;
  /** Where it stands (core/job_life.ts); changed only through {@linkcode move}. */
  state: JobState;
  /** Its message was acked (early ack at the start, or a settled outcome). */
  acked: boolean;
  startedAt: number;
  /** When qw received it (epoch ms). */
  heldAt: number;
  lastTouch: number;
  /** Epoch ms from which it must not start (Qw-Expires, or its task's `expires`); null: never. */
  expiresAt: number | null;
  /** The unique key it holds until it ends for good (`Qw-Unique`, not debounced), read once when it arrived. */
  unique?: string;
  /** It came from a key subject: acked only when it ends, whatever its ack mode, as its ack frees its key's slot. */
  keyed?: boolean;
  /** Where the job stands in its flow, when it is a step of one: acked only after the flow advanced. */
  flow?: FlowContext;
  /** The last STARTED or PROGRESS write, which the next write (and the final one) must follow. */
  lastWrite?: Promise<void>;
  /** The `process` span of its run, while it runs and settles (tracing on only; settle/run_spans.ts). */
  span?: Span;
}

/** Publishing a retry and dead-lettering, as the dispatcher needs them. */
export interface JobSink {
  /** Publish the next attempt of a job; resolves when the server stored it. */
  retry(h: Held, countdownS: number, retries: number): Promise<void>;
  /** Copy a job to the dead letters; resolves when the server stored it. */
  deadLetter(h: Held | { msg: JsMsg; seq: number }, reason: string, error?: SerializedError): Promise<void>;
  /** Remove a rejected message from the work stream, so it is gone even if the term is lost. */
  remove(seq: number): void;
  /** Publish a copy that waits on the server until `at` (epoch ms), with its rate-limit token reserved unless `reserved` is false. */
  defer(h: Held, at: number, reserved?: boolean): Promise<void>;
  /**
   * Publish a copy of a job that did not run here, carrying the runs before it
   * (`Qw-Runs`), so a hand-back never counts as a run; resolves when stored.
   */
  handBack(h: Held, runsBefore: number): Promise<void>;
  /** Free the unique key `key` if job `h` still holds it; resolves when done. */
  releaseUnique?(h: Held, key: string): Promise<void>;
}

/**
 * Move a held job one step of its life (core/job_life.ts). False, and no
 * change, when the step cannot happen from where it stands: a second outcome,
 * a start after a hand-back, a settle after a settle. Callers act only on true.
 */
export function move(h: Held, s: JobStep): boolean {
  const next = step(h.state, s);
  if (next === null) return false;
  h.state = next;
  return true;
}
