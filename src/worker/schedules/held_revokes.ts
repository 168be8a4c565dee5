/**
 * Revoked jobs the server holds (`<stream>._sched.<task>.<token>`) are
 * released at once, so a worker marks them REVOKED now rather than at their
 * eta, as qw's delayed consumer does with the jobs it holds.
 *
 * A pass lists the schedule subjects, reads each one's dedup id from its
 * token (see core/job/delay_hold.ts), and for a revoked task id publishes the
 * job on its task's subject (dedup id `<dedup id>:go`, as a release) and then
 * purges the schedule. Every worker may do so at once: the publishes are
 * deduplicated and the purge is idempotent. Should the server fire the same
 * schedule meanwhile, the worker meets that copy revoked too: it never runs.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { heldJobIds, heldJobOf } from "../../core/job/delay_hold.ts";
import { errorText } from "../../client/connection.ts";
import { Header } from "../../client/producer.ts";
import { jobSubject } from "../../client/topology.ts";
import type { Emitter } from "../../core/events.ts";

/** Releases revoked jobs held by the server; {@linkcode kick} after revokes change. */
export class HeldRevokes {
  #running: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly o: {
      jsm: JetStreamManager;
      js: JetStreamClient;
      stream: string;
      emitter: Emitter;
      /** True for a revoked task id. */
      revoked: (id: string) => boolean;
    },
  ) {}

  /** Run a pass now, or once more after the one under way. Resolves when no pass is left to run. */
  kick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#pass().catch((e) => this.#error(`Cannot list the jobs the server holds: ${errorText(e)}`));
      } while (this.#again);
      this.#running = null;
    })();
    return this.#running;
  }

  async #pass(): Promise<void> {
    const { jsm, stream } = this.o;
    const info = await jsm.streams.info(stream, { subjects_filter: `${stream}._sched.>` });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const held = heldJobOf(stream, subject);
      if (held === null || !heldJobIds(held.dedupId).some((id) => this.o.revoked(id))) continue;
      await this.#release(subject, held).catch((e) => this.#error(`Cannot release revoked job held on '${subject}': ${errorText(e)}`));
    }
  }

  async #release(subject: string, held: { task: string; dedupId: string }): Promise<void> {
    const { jsm, js, stream } = this.o;
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
    if (m === null) return; // fired or released a moment ago
    const h = makeHeaders();
    // None of the server's headers: the stored schedule has `Nats-Rollup: sub`, which would purge the task's jobs.
    for (const [k, vs] of m.header ?? []) if (!/^Nats-/i.test(k)) for (const v of vs) h.append(k, v);
    if (!h.has(Header.id)) h.set(Header.id, heldJobIds(held.dedupId)[0]);
    await js.publish(jobSubject(stream, held.task), m.data, { msgID: `${held.dedupId}:go`, headers: h });
    await jsm.streams.purge(stream, { filter: subject });
  }

  #error(error: string): void {
    this.o.emitter.emit({ type: "error", where: "delayed_release", error });
  }
}
