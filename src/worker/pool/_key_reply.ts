/**
 * Inside a Web Worker: a job's concurrency key from its task's
 * `concurrency.key` function and its args (worker/keys/key_functions.ts asks).
 * A key must be a non-empty line (core/job/concurrency_key.ts checks its length).
 *
 * @module
 */

import type { TaskEntry } from "../../core/task/task.ts";
import type { HostMessage, WorkerMessage } from "./protocol.ts";

const decoder = new TextDecoder();

/** The answer to a `key` request. Never throws. */
export function keyReply(tasks: Map<string, TaskEntry> | null, msg: Extract<HostMessage, { type: "key" }>): WorkerMessage {
  const fail = (error: string): WorkerMessage => ({ type: "key", k: msg.k, key: null, error });
  const f = tasks?.get(msg.task)?.concurrencyKey;
  if (!f) return fail(`Task '${msg.task}' has no 'concurrency.key' function`);
  try {
    const body = JSON.parse(decoder.decode(msg.data)) as { args?: unknown };
    const args = Array.isArray(body?.args) ? body.args : [];
    const key = f(...args);
    if (typeof key !== "string" || key === "") return fail(`'concurrency.key' of task '${msg.task}' must return a non-empty string: current value is ${JSON.stringify(String(key))}`);
    return { type: "key", k: msg.k, key };
  } catch (e) {
    return fail(`'concurrency.key' of task '${msg.task}' threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}
