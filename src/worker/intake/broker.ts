/**
 * The one failure policy for the calls that settle a message (ack, nak,
 * term, working): they throw on a closed or draining connection, and one
 * throw must not drop the rest of a batch of settlements or leave close()
 * waiting. The error becomes an event; the server redelivers whatever it did
 * not hear about once the lease runs out.
 *
 * @module
 */

import { errorText } from "../../client/connection.ts";
import type { Emitter } from "../../core/events.ts";

/** Run one broker call; true when it did not throw. */
export function safely(emitter: Emitter, op: string, f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    emitter.emit({ type: "error", where: `broker.${op}`, error: `Cannot ${op} a message: ${errorText(e)}` });
    return false;
  }
}
