/**
 * `qw schedule ls [--json]`: every schedule stored for the stream, from the
 * schedules bucket alone (no tasks file needed), with its next fire time and
 * the state of its last tick's job. A table unless `--json` (one object a line).
 *
 * @module
 */

import { openBucket } from "../../client/buckets/buckets.ts";
import { type Client, connectClient, streamNotFound } from "../../client/client.ts";
import { KvScheduleStore, type ScheduleRecord } from "../../client/buckets/schedule_store.ts";
import { namesFor } from "../../client/topology.ts";
import { formatSchedules, scheduleRow, type ScheduleRow } from "../../ops/schedules.ts";
import type { CommandContext } from "../context.ts";
import { isStreamNotFound } from "../../client/server_errors.ts";


/** The stored schedules of a stream; empty when no worker with schedules ran on it. */
export async function readSchedules(client: Client, stream: string): Promise<ScheduleRecord[]> {
  try {
    await client.jsm.streams.info(stream);
  } catch (e) {
    if (isStreamNotFound(e)) throw new Error(streamNotFound("list schedules of", stream));
    throw e;
  }
  const kv = await openBucket(client.jsm, namesFor(stream).schedulesBucket);
  return kv === null ? [] : await KvScheduleStore.of(kv).list();
}

/** Each schedule's row, with the state of its last tick from the results. */
export async function listSchedules(client: Client, stream: string, now = Date.now()): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const r of await readSchedules(client, stream)) {
    const row = scheduleRow(r, null, now);
    if (row.lastId !== null) row.state = (await client.get(row.lastId)).state;
    rows.push(row);
  }
  return rows;
}

/** Runs `qw schedule ls`; resolves to the exit code. */
export async function runSchedule(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const client = await connectClient(config, { events: ctx.events });
  try {
    const rows = await listSchedules(client, config.stream);
    ctx.out(ctx.cli.flags.json ? rows.map((r) => JSON.stringify(r) + "\n").join("") : formatSchedules(rows));
    return 0;
  } finally {
    await client.close();
  }
}
