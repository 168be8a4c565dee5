/**
 * Reading `qw_<stream>_stats` for `qw inspect` and the dashboard: the sum of
 * every record (the processes running, those gone and not folded yet, and the
 * base), so the counts are the same before and after every process restarts.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { listKeys, openBucket } from "../../client/buckets/buckets.ts";
import { chartPoints, mergeStats, STAT_OUTCOMES, type StatCounts, type StatsRecord, zeroCounts } from "./stats_record.ts";
import { statsBucket } from "./stats_writer.ts";

/** The counts since the stream's first job, per task and in total, and the chart. */
export interface History {
  /** False while no worker wrote stats (none ran, or only versions before them). */
  found: boolean;
  tasks: Record<string, StatCounts>;
  totals: StatCounts;
  /** Jobs ended per second, by 10-second slot, over the last 10 minutes. */
  chart: { t: number[]; succeeded: number[]; failed: number[] };
}

/** The history from records already read. Pure. */
export function historyOf(records: StatsRecord[], now: number): History {
  const sum = mergeStats("sum", now, records);
  const totals = zeroCounts();
  for (const c of Object.values(sum.tasks)) for (const o of STAT_OUTCOMES) totals[o] += c[o];
  return { found: records.length > 0, tasks: sum.tasks, totals, chart: chartPoints(sum.slots, now) };
}

/** Every record of a stats bucket. */
export async function readStatsRecords(kv: KV): Promise<StatsRecord[]> {
  const out: StatsRecord[] = [];
  for (const key of await listKeys(kv)) {
    const e = await kv.get(key);
    if (e?.operation === "PUT") out.push(e.json<StatsRecord>());
  }
  return out;
}

/** The history of a stream; empty when the bucket does not exist. */
export async function readHistory(jsm: JetStreamManager, stream: string, now: number = Date.now()): Promise<History> {
  const kv = await openBucket(jsm, statsBucket(stream));
  return historyOf(kv === null ? [] : await readStatsRecords(kv), now);
}
