// A dispatcher for unit tests, without NATS: the settings the tests share, overridden by what each one watches.
import { Dispatcher } from "../../src/worker/intake/dispatch.ts";
import type { DispatchOptions } from "../../src/worker/intake/dispatch_options.ts";
import type { JobSink } from "../../src/worker/intake/held.ts";
import { Emitter } from "../../src/core/events.ts";

/** What a test gives: its tasks and its pool's submit, and any other option; the sink's writes one by one. */
export type TestDispatchOptions = Pick<DispatchOptions, "tasks" | "submit"> & Omit<Partial<DispatchOptions>, "sink"> & {
  sink?: Partial<JobSink>;
};

const unexpected = () => Promise.reject(new Error("not expected"));

/**
 * A dispatcher on stream "jobs" for worker "w" (five deliveries, 30 s ack wait, reasons sent with a term), with no
 * results store, nothing revoked, nothing to withdraw or terminate, and a sink whose writes reject ("not expected")
 * unless the test gives them.
 */
export function testDispatcher(o: TestDispatchOptions): Dispatcher {
  const { sink, ...rest } = o;
  return new Dispatcher({
    stream: "jobs",
    withdraw: () => false,
    terminate: () => false,
    revoked: () => undefined,
    store: null,
    emitter: new Emitter(),
    maxDeliveries: 5,
    ackWaitMs: 30_000,
    workerName: "w",
    termReasons: true,
    ...rest,
    sink: {
      retry: unexpected,
      deadLetter: unexpected,
      remove: () => {},
      defer: unexpected,
      handBack: unexpected,
      ...sink,
    },
  });
}
