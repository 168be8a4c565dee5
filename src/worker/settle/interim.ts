/**
 * The STARTED and PROGRESS records of a running job: each written after the
 * one before it, so the final record (which waits for `lastWrite`) is
 * always the last.
 *
 * @module
 */

import { errorText } from "../../client/connection.ts";
import type { ResultStore } from "../../client/buckets/result_store.ts";
import type { Emitter } from "../../core/events.ts";
import type { Progress } from "../../core/types.ts";
import type { Held } from "../intake/held.ts";
import { resultRecord } from "./_outcome.ts";

/** Store a STARTED or PROGRESS record for `h`, after whatever was written before; nothing without a store or with ignoreResult. */
export function writeInterim(
  h: Held,
  state: "STARTED" | "PROGRESS",
  o: { store: ResultStore | null; emitter: Emitter; workerName: string; now: number; progress?: Progress },
): void {
  const store = o.store;
  if (!store || h.policy.ignoreResult) return;
  const record = resultRecord(h, o.workerName, o.now, state);
  if (o.progress) record.progress = o.progress;
  const write = () => store.write(record).catch((e) => o.emitter.emit({ type: "result.store_failed", id: h.id, state, error: errorText(e) }));
  h.lastWrite = h.lastWrite ? h.lastWrite.then(write) : write();
}
