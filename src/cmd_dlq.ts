/** `qw dlq`: not built yet (see the producers and operations issues). */
import type { CommandContext } from "./cli_context.ts";

/** Runs `qw dlq`; resolves to the exit code. */
export function runDlq(ctx: CommandContext): Promise<number> {
  ctx.err("qw: 'dlq' is not available in this build yet\n");
  return Promise.resolve(1);
}
