/** `qw events`: not built yet (see the producers and operations issues). */
import type { CommandContext } from "./cli_context.ts";

/** Runs `qw events`; resolves to the exit code. */
export function runEvents(ctx: CommandContext): Promise<number> {
  ctx.err("qw: 'events' is not available in this build yet\n");
  return Promise.resolve(1);
}
