/** `qw inspect`: not built yet (see the producers and operations issues). */
import type { CommandContext } from "./cli_context.ts";

/** Runs `qw inspect`; resolves to the exit code. */
export function runInspect(ctx: CommandContext): Promise<number> {
  ctx.err("qw: 'inspect' is not available in this build yet\n");
  return Promise.resolve(1);
}
