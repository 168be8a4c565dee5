/** `qw enqueue`: not built yet (see the producers and operations issues). */
import type { CommandContext } from "./cli_context.ts";

/** Runs `qw enqueue`; resolves to the exit code. */
export function runEnqueue(ctx: CommandContext): Promise<number> {
  ctx.err("qw: 'enqueue' is not available in this build yet\n");
  return Promise.resolve(1);
}
