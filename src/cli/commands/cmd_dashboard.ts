/**
 * `qw dashboard --stream NAME [--http HOST:PORT] [--http-token TOKEN]`: serve
 * the live page of one stream (src/ops/dashboard/) until SIGINT or SIGTERM.
 * Binds 127.0.0.1:8080 by default; any other address needs a token
 * (`QW_HTTP_TOKEN`), else it exits 2 with one line.
 *
 * @module
 */

import { connectClient } from "../../client/client.ts";
import type { CommandContext } from "../context.ts";
import * as rt from "../../core/runtime.ts";
import { parseListen } from "../../ops/http.ts";
import { listenProblem } from "../../ops/dashboard/auth.ts";
import { startDashboard } from "../../ops/dashboard/server.ts";
import { DashboardSource } from "../../ops/dashboard/source.ts";
import { errorText } from "../../client/connection.ts";

/** Where the dashboard listens unless `--http` says otherwise. */
export const DEFAULT_DASHBOARD_HTTP = "127.0.0.1:8080";
/** The environment variable of `--http-token`. */
export const HTTP_TOKEN_ENV = "QW_HTTP_TOKEN";

/** Runs `qw dashboard`; resolves to the exit code. */
export async function runDashboard(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const listen = ctx.cli.flags.http ?? DEFAULT_DASHBOARD_HTTP;
  const fromEnv = rt.env()[HTTP_TOKEN_ENV];
  const token = ctx.cli.flags.httpToken ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : null);
  // Usage errors first, before connecting: exit 2 with one line.
  let host: string;
  try {
    host = parseListen(listen).host;
  } catch (e) {
    ctx.err(`qw: ${errorText(e)}\n`);
    return 2;
  }
  const problem = listenProblem(host, token);
  if (problem !== null) {
    ctx.err(`qw: ${problem}\n`);
    return 2;
  }
  const client = await connectClient({ ...config, name: "qw dashboard" }, { events: ctx.events });
  const source = new DashboardSource(client, { consumer: config.consumer });
  try {
    source.start();
    const server = await startDashboard({ listen, token, stream: config.stream, ops: source });
    ctx.err(`Dashboard of stream '${config.stream}' on ${server.url}${token === null ? "" : " (open it once with ?token=...)"}: press Ctrl-C to stop\n`);
    await new Promise<void>((resolve) => {
      const offs = [rt.onSignal("SIGINT", done), rt.onSignal("SIGTERM", done)];
      function done() {
        for (const off of offs) off();
        resolve();
      }
    });
    await server.close();
    return 0;
  } finally {
    source.stop();
    await client.close();
  }
}
