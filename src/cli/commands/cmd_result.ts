/**
 * `qw result ID [--wait SECONDS]`: print a job's record as JSON. Exit codes:
 * 0 SUCCESS, 1 FAILURE or REVOKED, 2 not final (PENDING, STARTED, PROGRESS, RETRY, or the wait
 * timed out), 3 the result could not be read (unknown stream, no server).
 *
 * @module
 */

import { connectClient, type PendingResult, type TaskResult } from "../../client/client.ts";
import type { CommandContext } from "../context.ts";
import { errorText } from "../../client/connection.ts";
import { isFinalState, type Progress } from "../../core/types.ts";

/** The record as `qw result` prints it: finishedAt as an ISO time. Pure. */
export function resultView(r: TaskResult | PendingResult): Record<string, unknown> {
  if (r.state === "PENDING" && !("worker" in r)) return { id: r.id, state: "PENDING" };
  const rec = r as TaskResult;
  const view: Record<string, unknown> = { id: rec.id, task: rec.task, state: rec.state };
  if (rec.state === "SUCCESS") view.result = rec.result ?? null;
  if (rec.progress !== undefined) view.progress = rec.progress;
  if (rec.deadLetter !== undefined) view.deadLetter = rec.deadLetter;
  if (rec.reason !== undefined) view.reason = rec.reason;
  if (rec.error !== undefined) view.error = rec.error;
  Object.assign(view, {
    retries: rec.retries,
    deliveryCount: rec.deliveryCount,
    worker: rec.worker,
    finishedAt: Number.isFinite(rec.finishedAt) ? new Date(rec.finishedAt).toISOString() : null,
  });
  return view;
}

/** One line of progress: `<id>: 40% {"step":"resize"}`. Pure. */
export function progressLine(id: string, p: Progress): string {
  const pct = `${Math.round(p.fraction * 1000) / 10}%`;
  return `${id}: ${pct}${p.meta === undefined ? "" : ` ${JSON.stringify(p.meta)}`}`;
}

/** The exit code of a state. */
export const exitCodeOf = (state: string): number => (state === "SUCCESS" ? 0 : state === "FAILURE" || state === "REVOKED" ? 1 : 2);

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
        let last: TaskResult | null = null;
        // Progress shows on stderr while the job runs; stdout gets the final record only.
        for await (const r of client.watch(id, { timeout: wait })) {
          last = r;
          if (r.state === "PROGRESS" && r.progress) ctx.err(progressLine(id, r.progress) + "\n");
        }
        timedOut = last === null || !isFinalState(last.state);
        record = timedOut ? await client.get(id) : last!;
      }
    } finally {
      await client.close();
    }
  } catch (e) {
    ctx.err(`qw: ${errorText(e)}\n`);
    return 3;
  }
  ctx.out(JSON.stringify(resultView(record), null, ctx.isTTY ? 2 : undefined) + "\n");
  if ("deadLetter" in record && record.deadLetter !== undefined) {
    ctx.err(`qw: job '${id}' was dead-lettered (${record.deadLetter}): see 'qw dlq ls --stream ${ctx.config.stream}'\n`);
  }
  const code = exitCodeOf(record.state);
  if (code === 2) {
    const why = timedOut ? `no final state within ${wait} s` : "no final state yet";
    const hint = record.state === "PENDING" ? " (not run yet, unknown id, or expired)" : "";
    ctx.err(`qw: job '${id}' has ${why}: current state is "${record.state}"${hint}\n`);
  }
  return code;
}
