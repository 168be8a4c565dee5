/**
 * `qw pause [--task TASK] [--until DATE]` and `qw resume [--task TASK]`: store
 * or remove a pause in `qw_<stream>_paused` (and, for the whole stream on
 * 2.11+, pause or resume the shared consumer on the server; see
 * ops/pause_control.ts). Exit 0 done, 1 the server refused or the stream does
 * not exist, 2 a bad `--until`.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { connectClient } from "../../client/client.ts";
import { errorText } from "../../client/connection.ts";
import { parseUntil } from "../../core/pause.ts";
import { env, hostname } from "../../core/runtime.ts";
import { describePause, pause, resume } from "../../ops/pause_control.ts";
import type { CommandContext } from "../context.ts";

/** Runs `qw pause`; resolves to the exit code. */
export async function runPause(ctx: CommandContext): Promise<number> {
  const { task, until: untilText } = ctx.cli.flags;
  const now = Date.now();
  const until = untilText === null ? null : parseUntil(untilText, now);
  if (typeof until === "string") {
    ctx.err(`qw: Cannot pause as ${until}\n`);
    return 2;
  }
  const by = `${env().USER || env().USERNAME || "qw"}@${hostname()}`;
  return await withClient(ctx, async (nc) => {
    const r = await pause(nc, { stream: ctx.config.stream, consumer: ctx.config.consumer, task }, { until, by, now });
    const line = describePause(ctx.config.stream, { task, until, by, at: new Date(now).toISOString() });
    ctx.out(`Paused: ${line}${r.consumerPaused ? ` (consumer '${ctx.config.consumer}' paused on the server too)` : ""}\n`);
  });
}

/** Runs `qw resume`; resolves to the exit code. */
export async function runResume(ctx: CommandContext): Promise<number> {
  const { task } = ctx.cli.flags;
  return await withClient(ctx, async (nc) => {
    const r = await resume(nc, { stream: ctx.config.stream, consumer: ctx.config.consumer, task });
    const what = task === null ? `stream '${ctx.config.stream}'` : `task '${task}'`;
    ctx.out(r.wasPaused ? `Resumed ${what}\n` : `Resumed ${what} (it was not paused)\n`);
  });
}

async function withClient(ctx: CommandContext, fn: (nc: NatsConnection) => Promise<void>): Promise<number> {
  try {
    const client = await connectClient(ctx.config, { events: ctx.events });
    try {
      await fn(client.nc);
    } finally {
      await client.close();
    }
  } catch (e) {
    ctx.err(`qw: ${errorText(e)}\n`);
    return 1;
  }
  return 0;
}
