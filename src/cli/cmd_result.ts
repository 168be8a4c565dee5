/**
 * `qw result ID [--wait SECONDS]`: print a job's record as JSON. Exit codes:
 * 0 SUCCESS, 1 FAILURE, 2 not final (PENDING, STARTED, RETRY, or the wait
 * timed out), 3 the result could not be read (unknown stream, no server).
 *
 * @module
 */

import { connectClient, type PendingResult, type TaskResult } from "../client/client.ts";
import type { CommandContext } from "./context.ts";
import { errorText } from "../client/connection.ts";
import { ResultTimeoutError } from "../core/errors.ts";

/** The record as `qw result` prints it: finishedAt as an ISO time. Pure. */
export function resultView(r: TaskResult | PendingResult): Record<string, unknown> {
  if (r.state === "PENDING" && !("worker" in r)) return { id: r.id, state: "PENDING" };
  const rec = r as TaskResult;
  const view: Record<string, unknown> = { id: rec.id, task: rec.task, state: rec.state };
  if (rec.state === "SUCCESS") view.result = rec.result ?? null;
  if (rec.error !== undefined) view.error = rec.error;
  Object.assign(view, {
    retries: rec.retries,
    deliveryCount: rec.deliveryCount,
    worker: rec.worker,
    finishedAt: Number.isFinite(rec.finishedAt) ? new Date(rec.finishedAt).toISOString() : null,
  });
  return view;
}

/** The exit code of a state. */
export const exitCodeOf = (state: string): number => (state === "SUCCESS" ? 0 : state === "FAILURE" ? 1 : 2);

/** Runs `qw result`; resolves to the exit code. */
export async function runResult(ctx: CommandContext): Promise<number> {
  const id = ctx.cli.positionals[0];
  const wait = ctx.cli.flags.wait;
  let record: TaskResult | PendingResult;
  let timedOut = false;
  try {
    const client = await connectClient(ctx.config, { events: ctx.events });
    try {
      if (wait === null) record = await client.get(id);
      else {
        try {
          record = await client.result(id, { timeout: wait });
        } catch (e) {
          if (!(e instanceof ResultTimeoutError)) throw e;
          timedOut = true;
          record = await client.get(id);
        }
      }
    } finally {
      await client.close();
    }
  } catch (e) {
    ctx.err(`qw: ${errorText(e)}\n`);
    return 3;
  }
  ctx.out(JSON.stringify(resultView(record), null, ctx.isTTY ? 2 : undefined) + "\n");
  const code = exitCodeOf(record.state);
  if (code === 2) {
    const why = timedOut ? `no final state within ${wait} s` : "no final state yet";
    const hint = record.state === "PENDING" ? " (not run yet, unknown id, or expired)" : "";
    ctx.err(`qw: job '${id}' has ${why}: current state is "${record.state}"${hint}\n`);
  }
  return code;
}
