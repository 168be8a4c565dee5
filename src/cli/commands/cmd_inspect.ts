/**
 * `qw inspect`: the stream's jobs (waiting, in flight, redelivered, delayed,
 * dead-lettered), per-task counts and consumers, from the server's own info.
 * A table unless `--json`. The server is read in ops/server_view.ts; the
 * numbers are computed in inspect.ts.
 *
 * @module
 */

import { connectClient } from "../../client/client.ts";
import type { CommandContext } from "../context.ts";
import { formatReport, formatWorkers } from "../../ops/inspect.ts";
import { gatherReport } from "../../ops/server_view.ts";
import { activePauses, describePause, pauseJson } from "../../ops/pause_control.ts";
import { readHistory } from "../../ops/history/stats_read.ts";
import { formatHistory } from "../../ops/history/overview_history.ts";
import { JobLists } from "../../ops/jobs/job_lists.ts";
import { formatJobList } from "../../ops/jobs/job_text.ts";
import type { JobListState } from "../../ops/jobs/job_rows.ts";

/** Runs `qw inspect`; resolves to the exit code. */
export async function runInspect(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const client = await connectClient(config, { events: ctx.events });
  try {
    const { jobs, task, idPrefix } = ctx.cli.flags;
    if (jobs !== null) {
      const lists = new JobLists(client.nc, client.jsm, { stream: config.stream, consumer: config.consumer });
      const list = await lists.list(jobs as JobListState, { task: task ?? undefined, prefix: idPrefix ?? undefined });
      ctx.out(ctx.cli.flags.json ? JSON.stringify(list) + "\n" : formatJobList(list, Date.now()));
      return 0;
    }
    const report = await gatherReport(client.jsm, config.stream, config.consumer);
    if (ctx.cli.flags.workers) {
      ctx.out(ctx.cli.flags.json ? JSON.stringify({ workers: report.workers }) + "\n" : formatWorkers(report.workers, Date.now()) + "\n");
    } else {
      // What is paused (qw pause): a line each, or `paused` in the JSON.
      const paused = await activePauses(client.jsm, config.stream);
      // The counts since the first job, from the stats bucket: the same before and after every process restarts.
      const history = await readHistory(client.jsm, config.stream);
      if (ctx.cli.flags.json) ctx.out(JSON.stringify({ ...report, paused: paused.map(pauseJson), history }) + "\n");
      else {
        const lines = paused.map((p) => `Paused: ${describePause(config.stream, p)}\n`).join("");
        ctx.out(formatReport(report, Date.now()) + (lines || "Paused: nothing\n") + "\n" + formatHistory(history) + "\n");
      }
    }
    return 0;
  } finally {
    await client.close();
  }
}
