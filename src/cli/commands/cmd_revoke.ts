/**
 * `qw revoke ID [ID...] [--terminate] [--ttl SECONDS]`: revoke jobs durably (see
 * client/buckets/revocations.ts). Prints one line per id; exits 0 when every id was
 * revoked, 1 when one had already ended (left as it is), 3 when the revoke
 * could not be stored.
 *
 * @module
 */

import { connectClient } from "../../client/client.ts";
import type { CommandContext } from "../context.ts";
import { errorText } from "../../client/connection.ts";

/** Runs `qw revoke`; resolves to the exit code. */
export async function runRevoke(ctx: CommandContext): Promise<number> {
  const { positionals, flags } = ctx.cli;
  let ended = 0;
  try {
    const client = await connectClient(ctx.config, { events: ctx.events });
    try {
      for (const id of positionals) {
        const r = await client.revoke(id, { terminate: flags.terminate, ttl: flags.ttl ?? undefined });
        if (r.revoked) {
          const how = flags.terminate ? "; terminated if it is running" : "; a running job finishes";
          ctx.out(`Revoked '${id}' (state ${r.state})${how}\n`);
        } else {
          ended++;
          ctx.err(`qw: job '${id}' already ended in state ${r.state}: nothing to revoke\n`);
        }
      }
    } finally {
      await client.close();
    }
  } catch (e) {
    ctx.err(`qw: ${errorText(e)}\n`);
    return 3;
  }
  return ended === 0 ? 0 : 1;
}
