/**
 * A job message from the moment qw pulls it until it is settled, and the
 * side effects on JetStream that settling it may need. Types only.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import type { JobFields } from "../../core/events.ts";
import type { ResolvedTaskOptions, SerializedError } from "../../core/types.ts";
import type { FlowContext } from "../flows/flow_runner.ts";

/** A message the worker holds, from pull to settlement. */
export interface Held extends JobFields {
  msg: JsMsg;
  policy: ResolvedTaskOptions;
  acked: boolean;
  started: boolean;
  startedAt: number;
  /** When qw received it (epoch ms). */
  heldAt: number;
  lastTouch: number;
  /** It ended, and what follows (a retry, a dead letter, its result) is being published before it settles. */
  settling: boolean;
  /** Where the job stands in its flow, when it is a step of one: acked only after the flow advanced. */
  flow?: FlowContext;
  /** The last STARTED or PROGRESS write, which the next write (and the final one) must follow. */
  lastWrite?: Promise<void>;
}

/** Publishing a retry and dead-lettering, as the dispatcher needs them. */
export interface JobSink {
  /** Publish the next attempt of a job; resolves when the server stored it. */
  retry(h: Held, countdownS: number, retries: number): Promise<void>;
  /** Copy a job to the dead letters; resolves when the server stored it. */
  deadLetter(h: Held | { msg: JsMsg; seq: number }, reason: string, error?: SerializedError): Promise<void>;
  /** Remove a rejected message from the work stream, so it is gone even if the term is lost. */
  remove(seq: number): void;
  /** Publish a copy that waits on the server until `at` (epoch ms) with its rate-limit token reserved. */
  defer(h: Held, at: number): Promise<void>;
}
