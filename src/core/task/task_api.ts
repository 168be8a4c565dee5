/**
 * What a tasks file gets from `import ... from "qw"` inside a Web Worker:
 * the task helper, the control errors and the current job's context. Kept
 * free of NATS so every Web Worker loads it quickly.
 *
 * @module
 */

import type { TaskContext } from "../types.ts";

export { task } from "./task.ts";
export {
  errors,
  Ignore,
  MaxRetriesExceededError,
  Reject,
  Retry,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  WorkerLostError,
} from "../errors.ts";

// On the global object, not in this module: a tasks file that loads another
// copy of this module (the npm package's, from its node_modules) still sees
// the job that runs.
const CURRENT = Symbol.for("qw.currentTask");
const slot = globalThis as { [CURRENT]?: (() => TaskContext) | null };

/** Set by the Web Worker around each run. */
export function _setCurrentTask(fn: (() => TaskContext) | null): void {
  slot[CURRENT] = fn;
}

/**
 * The context of the job running in this Web Worker, for tasks declared
 * without `bind: true`. Throws outside a task.
 */
export function currentTask(): TaskContext {
  const current = slot[CURRENT] ?? null;
  if (current === null) throw new Error("Cannot get the current task as no task is running in this thread");
  return current();
}
