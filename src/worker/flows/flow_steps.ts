/**
 * Where flows meet the dispatcher: a flow's start message (`<stream>._flow`,
 * body `{"id": ..., "flow": ...}`) is expanded into its first steps, and a
 * step's `flow` is read from its body (only for messages marked `Qw-Flow`, so
 * other jobs never pay for it). See core/flow.ts and flow_runner.ts.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { errorText } from "../../client/connection.ts";
import type { Emitter, JobFields } from "../../core/events.ts";
import { flowTasks, normalizeFlow } from "../../core/flow.ts";
import { type FlowContext, type FlowRunner, isFlowContext } from "./flow_runner.ts";
import { traceHeadersOf } from "../../client/trace_context.ts";

/** The task name of a flow's start message: its subject is `<stream>._flow`. */
export const FLOW_START_TASK = "_flow";

const decoder = new TextDecoder();

/** The `flow` of a step's body, or null when there is none that can be advanced. */
export function flowOf(data: Uint8Array): FlowContext | null {
  try {
    const body = JSON.parse(decoder.decode(data));
    return isFlowContext(body?.flow) ? body.flow : null;
  } catch {
    return null;
  }
}

/** Starts flows from their start messages. */
export class FlowStarter {
  constructor(
    private readonly o: {
      runner: FlowRunner;
      emitter: Emitter;
      /** The tasks this worker runs: a flow naming another fails at once. */
      tasks: () => Record<string, unknown>;
      /** Dead-letter and term a message that cannot start, storing FAILURE for its id. */
      invalid(msg: JsMsg, job: JobFields, reason: string): void;
      /** The consumer's ack wait: a start tried again renews its message's lease well within it. */
      ackWaitMs: number;
      /** How long a start is tried again in this process before its message goes back (naked). */
      giveUpMs?: number;
      sleep?: (ms: number) => Promise<void>;
      now?: () => number;
    },
  ) {}

  /** The runner, for steps that finish. */
  get runner(): FlowRunner {
    return this.o.runner;
  }

  /** A start message arrived: publish the flow's first steps, then ack it. Never throws. */
  startMessage(msg: JsMsg, job: JobFields): void {
    let id: string;
    let flow;
    try {
      const body = JSON.parse(decoder.decode(msg.data));
      if (typeof body?.id !== "string" || body.id.trim() === "") throw new TypeError("Cannot start flow as 'id' must be a non-empty string");
      id = body.id;
      flow = normalizeFlow(body.flow);
      const unknown = flowTasks(flow).filter((t) => !Object.hasOwn(this.o.tasks(), t));
      if (unknown.length > 0) throw new TypeError(`Cannot start flow as task '${unknown[0]}' is not in the tasks file`);
    } catch (e) {
      return this.o.invalid(msg, { ...job, id: flowIdOf(msg.data) ?? job.id }, errorText(e));
    }
    void this.#start(msg, id, flow);
  }

  /**
   * Publish the first steps, then ack. A failed start (the stream without a leader, a full stream, a timeout) is
   * tried again here, the message's lease renewed meanwhile, rather than naked: each nak counts as a delivery, and a
   * few seconds without a leader would otherwise dead-letter a flow that never ran. After `giveUpMs` it goes back.
   */
  async #start(msg: JsMsg, id: string, flow: ReturnType<typeof normalizeFlow>): Promise<void> {
    const now = this.o.now ?? Date.now;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const since = now();
    for (let attempt = 1;; attempt++) {
      try {
        // The first steps are children of whatever published the start message (its `traceparent`).
        await this.o.runner.start(id, flow, traceHeadersOf(msg.headers));
        msg.ack();
        return;
      } catch (e) {
        const givingUp = now() - since >= (this.o.giveUpMs ?? 120_000);
        if (attempt === 1 || givingUp || attempt % 10 === 0) {
          const next = givingUp ? "handing it back" : `trying again (attempt ${attempt})`;
          this.o.emitter.emit({ type: "error", where: "flow", error: `Cannot start flow '${id}': ${errorText(e)}; ${next}` });
        }
        try {
          if (givingUp) return msg.nak(1000);
          msg.working();
        } catch {
          return; // the connection is gone: the server redelivers it after the ack wait
        }
        await sleep(Math.min(5_000, this.o.ackWaitMs / 3, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  }
}

function flowIdOf(data: Uint8Array): string | null {
  try {
    const id = JSON.parse(decoder.decode(data))?.id;
    return typeof id === "string" && id !== "" ? id : null;
  } catch {
    return null;
  }
}
