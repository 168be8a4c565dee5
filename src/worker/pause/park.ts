/**
 * Where a job of a paused task waits: not in a worker (it would hold a lease
 * and a slot) and not looping through redeliveries (each would count as a
 * run). The job is parked: a copy goes to `<stream>._delayed.<task>` with its
 * runs before (`Qw-Runs`), and the original is acked, as a hand-back does
 * (intake/hand_back.ts). The delayed releaser then holds it on the server
 * (a nak with delay, rechecked every {@linkcode PAUSE_RECHECK_MS}) while the
 * task is paused, and releases it to `<stream>.<task>` once resumed. A nak on
 * the delayed consumer is no run: the released copy starts from delivery 1.
 *
 * @module
 */

import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { Header } from "../../client/producer.ts";
import { delayedSubject } from "../../client/topology.ts";
import type { PauseDecision } from "../../core/pause.ts";
import { DEFAULT_PRIORITY, priorityOfSubject } from "../../core/job/priority.ts";
import type { Held, JobSink } from "../intake/held.ts";
import { carriedHeaders } from "../settle/job_sink.ts";

/** How long the delayed releaser holds a parked job before it looks at the pause again. */
export const PAUSE_RECHECK_MS = 2_000;

/** Publish the parked copy of `h`; resolves when the server stored it. */
export async function park(js: JetStreamClient, stream: string, h: Held): Promise<void> {
  const hd = makeHeaders();
  // The caller's own headers travel with the job (and a flow's mark, a unique key); qw's are written anew.
  for (const [k, v] of Object.entries(carriedHeaders(h))) hd.append(k, v);
  hd.set(Header.id, h.id);
  if (h.retries > 0) hd.set(Header.retries, String(h.retries));
  if (h.runsBefore > 0) hd.set(Header.runs, String(h.runsBefore));
  // Released to its own level again.
  const priority = priorityOfSubject(h.msg.subject);
  if (priority !== DEFAULT_PRIORITY) hd.set(Header.priority, String(priority));
  await js.publish(delayedSubject(stream, h.task), h.msg.data, { msgID: `${h.id}:pz:${h.seq}:${h.deliveryCount}`, headers: hd });
}

/**
 * A sink whose hand-backs park the jobs of a paused task instead of putting
 * them back on the task's subject (where the shared consumer would deliver
 * them again at once).
 */
export function parkingSink(inner: JobSink, o: { js: JetStreamClient; stream: string; decision(task: string): PauseDecision }): JobSink {
  return {
    ...inner,
    handBack(h, runsBefore) {
      const d = o.decision(h.task);
      return d.paused && d.scope === "task" ? park(o.js, o.stream, h) : inner.handBack(h, runsBefore);
    },
  };
}
