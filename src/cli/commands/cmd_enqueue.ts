/**
 * `qw enqueue TASK [ARG...]`: publish a job and print its id. Each ARG is a
 * JSON value, or a string when it is not valid JSON; `--json '[...]'` gives
 * the args as one array. `--count N` publishes N copies with the client's
 * `sendMany()` (atomic batches of 1,000 on 2.12+ where the stream allows it,
 * else pipelined), with a progress bar on a terminal and a summary line with the rate.
 *
 * @module
 */

import { type Client, connectClient, type EnqueueOptions, prepareJob } from "../../client/client.ts";
import type { CommandContext } from "../context.ts";
import { errorText } from "../../client/connection.ts";

/** Jobs handed to the client's `sendMany()` at once with `--count`: ten atomic batches. */
export const SLICE = 10_000;

/** A positional argument: its JSON value, or the string itself. Pure. */
export function parseArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The id of copy `i` (1-based) of `count`: the id itself when there is one copy. Pure. */
export const copyId = (id: string | null, i: number, count: number): string | undefined =>
  id === null ? undefined : count === 1 ? id : `${id}-${i}`;

/** A progress bar line (no newline). Pure. */
export function progressLine(done: number, total: number, elapsedMs: number, width = 30): string {
  const frac = total === 0 ? 1 : done / total;
  const fill = Math.round(frac * width);
  const rate = elapsedMs > 0 ? Math.round((done * 1000) / elapsedMs) : 0;
  return `[${"#".repeat(fill)}${".".repeat(width - fill)}] ${done}/${total} ${Math.floor(frac * 100)}% ${rate} jobs/s`;
}

/** Runs `qw enqueue`; resolves to the exit code. */
export async function runEnqueue(ctx: CommandContext): Promise<number> {
  const { flags, positionals } = ctx.cli;
  const [task, ...rest] = positionals;
  const args = flags.args ?? rest.map(parseArg);
  const options: EnqueueOptions = {
    countdown: flags.countdown ?? undefined,
    eta: flags.eta === null ? undefined : new Date(flags.eta),
    expires: flags.expires === null ? undefined : typeof flags.expires === "number" ? flags.expires : new Date(flags.expires),
    headers: Object.fromEntries(flags.headers),
    unique: flags.unique ?? undefined,
    debounce: flags.debounce ?? undefined,
    priority: flags.priority ?? undefined,
    concurrencyKey: flags.concurrencyKey ?? undefined,
  };
  // Bad input fails here, before connecting.
  prepareJob(task, args, { ...options, id: copyId(flags.id, 1, flags.count) });
  const client = await connectClient(ctx.config, { events: ctx.events });
  try {
    if (flags.count === 1) {
      const r = await client.send(task, args, { ...options, id: copyId(flags.id, 1, 1) });
      ctx.out(r.id + "\n");
      if (r.heldBy !== undefined) {
        ctx.err(`qw: unique key '${flags.unique}' of task '${task}' is held by job '${r.heldBy}' (waiting or running): nothing enqueued\n`);
      } else if (r.duplicate) {
        ctx.err(`qw: job '${r.id}' was already enqueued within the duplicate window: not stored again\n`);
      }
      return 0;
    }
    return await enqueueMany(ctx, client, task, args, options);
  } finally {
    await client.close();
  }
}

async function enqueueMany(
  ctx: CommandContext,
  client: Client,
  task: string,
  args: unknown[],
  options: EnqueueOptions,
): Promise<number> {
  const { count, id } = ctx.cli.flags;
  const started = performance.now();
  let done = 0;
  let duplicates = 0;
  let drawn = 0;
  const draw = (force = false) => {
    const now = performance.now();
    if (!ctx.isTTY || (!force && now - drawn < 100)) return;
    drawn = now;
    ctx.err(`\r${progressLine(done, count, now - started)}`);
  };
  let failure: unknown = null;
  // The client's enqueueMany (atomic batches where the server has them), a slice at a time to bound memory.
  for (let first = 1; first <= count && failure === null; first += SLICE) {
    const n = Math.min(SLICE, count - first + 1);
    const jobs = Array.from({ length: n }, (_, k) => ({ task, args, options: { ...options, id: copyId(id, first + k, count) } }));
    const before = done;
    try {
      const receipts = await client.sendMany(jobs, { onProgress: (d) => (done = before + d, draw()) });
      duplicates += receipts.filter((r) => r.duplicate).length;
    } catch (e) {
      failure = e;
    }
  }
  if (ctx.isTTY) {
    draw(true);
    ctx.err("\n");
  }
  if (failure !== null) throw new Error(`${errorText(failure)} (after ${done} of ${count} jobs)`);
  const seconds = (performance.now() - started) / 1000;
  const summary = enqueueSummary({ count, duplicates, task, stream: client.stream, seconds });
  ctx.out(summary.out + "\n");
  if (summary.err !== null) ctx.err(`qw: ${summary.err}\n`);
  return 0;
}

/**
 * What `qw enqueue --count N` reports: the jobs stored (on stdout), and the ids the server had already
 * (on stderr), so a second run with the same `--id` does not read as N more jobs. Pure.
 */
export function enqueueSummary(
  r: { count: number; duplicates: number; task: string; stream: string; seconds: number },
): { out: string; err: string | null } {
  const stored = r.count - r.duplicates;
  const rate = r.seconds > 0 ? Math.round(r.count / r.seconds) : r.count;
  const jobs = (n: number) => `${n} ${n === 1 ? "job" : "jobs"}`;
  const what = r.duplicates === 0 ? jobs(stored) : `${jobs(stored)} (of ${r.count})`;
  return {
    out: `Enqueued ${what} of '${r.task}' to stream '${r.stream}' in ${r.seconds.toFixed(2)} s (${rate} jobs/s)`,
    err: r.duplicates === 0
      ? null
      : `${r.duplicates} of ${r.count} ids were already enqueued within the duplicate window: not stored again`,
  };
}
