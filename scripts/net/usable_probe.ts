/**
 * After a server fault's heal, when could a process fire a schedule tick
 * again? The harness asks the cluster itself, from outside qw, and keeps
 * asking until the queue is drained: every half second it publishes a probe
 * job to the work stream (its id as `Nats-Msg-Id`, so a retry is deduplicated)
 * and reads the schedule's key in the schedules bucket, the two requests a
 * tick needs, each with a short timeout.
 *
 * Each failed request is a refused one: the checker ends a server fault's
 * window one period after the last (scripts/net/checker_flows.ts). The load's
 * own publishes cannot tell this alone: they may all be stored during the
 * fault, before the cluster elects its leaders again after the heal (a node
 * back with a higher term makes the others step down, seconds after it).
 *
 * @module
 */

import { headers as makeHeaders } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { scheduleKey } from "../../src/client/buckets/schedule_store.ts";
import { type Client, nowMs, type Outgoing, sleep } from "../_harness.ts";

/** Each probe request's timeout, ms: short, so a refusal is seen within about a second of the cluster's. */
const TRY_TIMEOUT_MS = 1_000;
const EVERY_MS = 500;

/** What the probe needs: its jobs, which schedule key to read, and where to note a refused request. */
export interface ProbeOptions {
  /** The n-th probe job (a job the checker expects to run like any other). */
  job(n: number): Outgoing;
  bucket: string;
  /** Whether the bucket answers reads from any replica (its `allow_direct`), as qw then reads it. */
  direct: boolean;
  schedule: { task: string; index: number };
  onRefused(e: Error): void;
}

/** What the probe saw: when both requests first answered, when one was last refused (epoch ms, or null). */
export interface ProbeSeen {
  firstUsable: number | null;
  lastRefused: number | null;
  /** The probe jobs the stream stored. */
  stored: string[];
}

/** A probe running until `stop()`; `stop()` resolves with what it saw. */
export function startProbe(c: Client, o: ProbeOptions): { stop(): Promise<ProbeSeen> } {
  const js = jetstream(c.nc, { timeout: TRY_TIMEOUT_MS });
  const seen: ProbeSeen = { firstUsable: null, lastRefused: null, stored: [] };
  let stopped = false;
  const loop = (async () => {
    // Bound without a request; its reads go where qw's go (any replica when direct, else the leader).
    const kv = await new Kvm(js).open(o.bucket, { allow_direct: o.direct });
    for (let n = 0; !stopped; n++) {
      const job = o.job(n);
      const h = makeHeaders();
      for (const [k, v] of Object.entries(job.headers ?? {})) h.set(k, v);
      const started = Date.now();
      // Until stored: a probe the stream took in the end must be in the history the checker reads.
      for (let stored = false, read = false; !(stored && read) && !stopped;) {
        try {
          if (!stored) {
            await js.publish(job.subject, job.data, { msgID: job.msgId, headers: h, timeout: TRY_TIMEOUT_MS });
            stored = true;
            seen.stored.push(job.msgId ?? "");
          }
          await kv.get(scheduleKey(o.schedule.task, o.schedule.index));
          read = true;
          seen.firstUsable ??= nowMs();
        } catch (e) {
          seen.lastRefused = nowMs();
          o.onRefused(e as Error);
          await sleep(EVERY_MS / 2);
        }
      }
      await sleep(Math.max(0, EVERY_MS - (Date.now() - started)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen;
    },
  };
}
