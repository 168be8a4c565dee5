/**
 * `qw events [--json]`: print the events every worker of `--stream`
 * publishes on `_qw.events.<stream>` (see event_publisher.ts), live, until
 * SIGINT or SIGTERM (exit 0). `--json` prints each message as received, one
 * a line; text is `<time> <worker> <message>`, the log line of the event.
 *
 * Hidden, for scripts and tests: `QW_EVENTS_LIMIT=N` stops after N events.
 * Once subscribed it says so on stderr.
 *
 * @module
 */

import type { CommandContext } from "../context.ts";
import { errorText, openConnection } from "../../client/connection.ts";
import type { QwEvent } from "../../core/events.ts";
import { messageOf } from "../log.ts";
import * as rt from "../../core/runtime.ts";
import { namesFor } from "../../client/topology.ts";

/** How long `qw events` waits before saying how to turn events on. */
export const NO_EVENTS_HINT_MS = 5_000;
/** What `qw events` says when no event came. */
export const NO_EVENTS_HINT =
  "No events yet: workers publish events only when started with --events (-E) or QW_EVENTS=1 (off by default, as in Celery)";

/** The environment variable that stops `qw events` after that many events. */
export const EVENTS_LIMIT_ENV = "QW_EVENTS_LIMIT";

/** One text line for a published event. Pure. */
export function formatEvent(text: string): string {
  let e: QwEvent & { time?: string; source?: string };
  try {
    e = JSON.parse(text);
  } catch {
    return text + "\n";
  }
  let msg: string | undefined;
  try {
    msg = messageOf(e);
  } catch {
    msg = undefined;
  }
  const { time, source, ...rest } = e;
  return `${time ?? "-"} ${source ?? "-"} ${msg ?? `${e.type}: ${JSON.stringify(rest)}`}\n`;
}

/** Runs `qw events`; resolves to the exit code. */
export async function runEvents(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const raw = rt.env()[EVENTS_LIMIT_ENV];
  const limit = raw === undefined || raw === "" ? Infinity : Number(raw);
  if (!(Number.isInteger(limit) && limit > 0) && limit !== Infinity) {
    throw new RangeError(
      `Cannot follow events as '${EVENTS_LIMIT_ENV}' must be an integer >= 1: current value is "${raw}"`,
    );
  }
  const subject = namesFor(config.stream).eventsSubject;
  const nc = await openConnection(config, { name: "qw events", emit: quietClose(ctx) });
  const sub = nc.subscribe(subject);
  const stop = () => sub.unsubscribe();
  const offs = [rt.onSignal("SIGINT", stop), rt.onSignal("SIGTERM", stop)];
  let failure: string | null = null;
  let hint: ReturnType<typeof setTimeout> | undefined;
  void nc.closed().then((err) => {
    if (err) failure = errorText(err);
    stop();
  });
  try {
    await nc.flush();
    ctx.err(`Following events on '${subject}': press Ctrl-C to stop\n`);
    const decoder = new TextDecoder();
    let seen = 0;
    // Events are opt-in on the worker: say so when none come.
    hint = setTimeout(() => {
      if (seen === 0) ctx.err(`${NO_EVENTS_HINT}\n`);
    }, NO_EVENTS_HINT_MS);
    (hint as { unref?: () => void }).unref?.();
    // A message carries a batch of events, one JSON line each.
    for await (const m of sub) {
      for (const text of decoder.decode(m.data).split("\n")) {
        ctx.out(ctx.cli.flags.json ? text + "\n" : formatEvent(text));
        if (++seen >= limit) stop();
        if (seen >= limit) break;
      }
    }
  } finally {
    clearTimeout(hint);
    for (const off of offs) off();
    await nc.close().catch(() => {});
  }
  if (failure !== null) throw new Error(`Cannot follow events on '${subject}' as the connection closed: ${failure}`);
  return 0;
}

/** Connection events for the log, but not the close this command does itself. */
function quietClose(ctx: CommandContext) {
  return (e: QwEvent) => {
    if (!(e.type === "connection.status" && e.status === "close")) ctx.events.emit(e);
  };
}
