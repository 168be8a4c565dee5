/** `qw result`: not built yet (see the producers and operations issues). */
import type { CommandContext } from "./cli_context.ts";

/** Runs `qw result`; resolves to the exit code. */
export function runResult(ctx: CommandContext): Promise<number> {
  ctx.err("qw: 'result' is not available in this build yet\n");
  return Promise.resolve(1);
}
