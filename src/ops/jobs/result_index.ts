/**
 * The latest result records, for the lists of failed, revoked and expired
 * jobs and a flow's steps: the last {@linkcode RESULT_SCAN} entries of the
 * results bucket's stream, read by an ordered consumer (no key listing of a
 * bucket that may hold a day of results), then only what was written since at
 * each refresh. Entries older than the window are not listed; `qw result ID`
 * and the job page still read any record by id.
 *
 * @module
 */

import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { ResultRecord } from "../../client/buckets/result_store.ts";
import { isStreamNotFound } from "../../client/server_errors.ts";

/** How many of the latest result writes the lists look at. */
export const RESULT_SCAN = 10_000;

/** The latest record per key in the window, kept up to date by {@linkcode ResultIndex.refresh}. */
export class ResultIndex {
  readonly records = new Map<string, ResultRecord>();
  #js: JetStreamClient;
  #jsm: JetStreamManager;
  #stream: string;
  #lastSeq = 0;
  #busy: Promise<void> | null = null;

  constructor(js: JetStreamClient, jsm: JetStreamManager, bucket: string) {
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = `KV_${bucket}`;
  }

  /** Read what was written since the last refresh (the latest window the first time). One at a time. */
  refresh(): Promise<void> {
    this.#busy ??= this.#read().finally(() => (this.#busy = null));
    return this.#busy;
  }

  async #read(): Promise<void> {
    let last: number;
    let first: number;
    try {
      const info = await this.#jsm.streams.info(this.#stream);
      ({ last_seq: last, first_seq: first } = info.state);
    } catch (e) {
      if (isStreamNotFound(e)) return; // --no-results, or no worker yet
      throw e;
    }
    if (last < this.#lastSeq) this.records.clear(); // the bucket was recreated
    const start = Math.max(first, this.#lastSeq + 1, last - RESULT_SCAN + 1);
    if (start > last) return;
    const consumer = await this.#js.consumers.get(this.#stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
    const prefix = `$KV.${this.#stream.slice(3)}.`;
    try {
      for (let seq = start; seq <= last;) {
        const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          seq = m.seq + 1;
          const key = m.subject.slice(prefix.length);
          const op = m.headers?.get("KV-Operation");
          if (op === "DEL" || op === "PURGE" || m.data.length === 0) this.records.delete(key);
          else {
            try {
              this.records.set(key, m.json<ResultRecord>());
            } catch { /* not a record */ }
          }
          if (m.seq >= last) break;
        }
        if (got === 0) break;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    this.#lastSeq = last;
  }
}
