/**
 * Strict at most once (`confirmAck`): a job is acked before it is given to
 * the pool, and given only once the server confirmed the ack, so no
 * redelivery can ever run it a second time. What it costs: one round trip to
 * the server before each job starts. When the confirmation does not come the
 * job is not run here; the server delivers it again if the ack was lost.
 *
 * @module
 */

import { errorText } from "../../client/connection.ts";
import { isWaiting } from "../../core/job/job_life.ts";
import type { Held } from "./held.ts";

/** Whether a job waits for its ack's confirmation before it may start. */
export const needsConfirmation = (h: Held): boolean => h.policy.confirmAck && !h.policy.acksLate && !h.acked && !h.flow && !h.keyed;

/** Ack `h` and call `confirmed` once the server confirmed it, or `unconfirmed` with why; neither if it left meanwhile. */
export function confirmAck(h: Held, then: { confirmed(): void; unconfirmed(why: string): void }): void {
  h.msg.ackAck().then(
    (ok) => {
      if (!isWaiting(h.state)) return;
      if (!ok) return then.unconfirmed("the server did not confirm it");
      h.acked = true;
      then.confirmed();
    },
    (e) => {
      if (isWaiting(h.state)) then.unconfirmed(errorText(e));
    },
  );
}
