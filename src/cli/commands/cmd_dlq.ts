/**
 * `qw dlq [ls | show SEQ | replay SEQ | replay --all | purge] [--json]`: the
 * dead letters of `--stream`, on `<stream>_dlq`, as text or JSON lines. The
 * server side is in dlq.ts; the output formats here are pure.
 *
 * @module
 */

import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { CommandContext } from "../context.ts";
import type { QwEvent } from "../../core/events.ts";
import { errorText, openConnection } from "../../client/connection.ts";
import { type DeadLetter, DeadLetters, type Replayed } from "../../ops/dlq.ts";

const line = (v: unknown) => JSON.stringify(v) + "\n";

/** Whether `qw dlq purge` may go ahead, must ask first, or must refuse (no terminal to ask on). Pure. */
export function purgeConsent(yes: boolean, stdinIsTTY: boolean): "purge" | "ask" | "refuse" {
  return yes ? "purge" : stdinIsTTY ? "ask" : "refuse";
}

/** True for an answer that confirms: "y" or "yes", any case. Pure. */
export const confirms = (answer: string | null): boolean => answer !== null && /^\s*y(es)?\s*$/i.test(answer);

/** Runs `qw dlq`; resolves to the exit code. */
export async function runDlq(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const { flags } = ctx.cli;
  if (flags.dlqAction === "purge" && purgeConsent(flags.yes, ctx.stdinIsTTY) === "refuse") {
    ctx.err(
      `qw: Cannot purge dead letters as '--yes' must be given when stdin is not a terminal to ask on: current value is "false"\n`,
    );
    return 2;
  }
  const nc = await openConnection(config, { name: "qw dlq", emit: quietClose(ctx) });
  try {
    const dlq = await deadLetters(nc, config.servers, config.stream);
    switch (flags.dlqAction ?? "ls") {
      case "ls": {
        const all = await dlq.list();
        ctx.out(flags.json ? all.map((d) => line(listEntry(d))).join("") : formatList(all, dlq.dlqStream));
        return 0;
      }
      case "show": {
        const dl = await dlq.get(flags.seq!);
        ctx.out(flags.json ? line(showEntry(dl)) : formatShow(dl));
        return 0;
      }
      case "replay":
        return flags.all ? await replayAll(ctx, dlq) : (report(ctx, await dlq.replay(flags.seq!)), 0);
      case "purge": {
        let throughSeq: number | undefined;
        if (purgeConsent(flags.yes, ctx.stdinIsTTY) === "ask") {
          const { count, lastSeq } = await dlq.count();
          if (count === 0) {
            ctx.out(flags.json ? line({ purged: 0 }) : `No dead letters in stream '${dlq.dlqStream}'\n`);
            return 0;
          }
          const question = `Purge ${count} dead letter${count === 1 ? "" : "s"} from stream '${dlq.dlqStream}'? This cannot be undone [y/N] `;
          if (!confirms(await ctx.ask(question))) {
            ctx.err("qw: Purge cancelled: no dead letter was deleted\n");
            return 1;
          }
          throughSeq = lastSeq;
        }
        const n = await dlq.purge(throughSeq);
        ctx.out(
          flags.json
            ? line({ purged: n })
            : `Purged ${n} dead letter${n === 1 ? "" : "s"} from stream '${dlq.dlqStream}'\n`,
        );
        return 0;
      }
    }
  } finally {
    await nc.close().catch(() => {});
  }
}

async function deadLetters(nc: NatsConnection, servers: string[], stream: string): Promise<DeadLetters> {
  const jsm = await jetstreamManager(nc).catch((e) => {
    throw new Error(`Cannot use JetStream on '${servers.join(",")}': ${errorText(e)} (start nats-server with -js)`);
  });
  return new DeadLetters(jetstream(nc), jsm, stream);
}

function report(ctx: CommandContext, r: Replayed): void {
  if (ctx.cli.flags.json) ctx.out(line({ ...r, replayed: true }));
  else {ctx.out(
      `Replayed dead letter ${r.seq} as job '${r.id}' on '${r.subject}'${
        r.duplicate ? " (already replayed)" : ` (seq ${r.jobSeq})`
      }\n`,
    );}
}

/** Replay every dead letter there is now; one that cannot be replayed is reported and kept. */
async function replayAll(ctx: CommandContext, dlq: DeadLetters): Promise<number> {
  const all = await dlq.list();
  let failed = 0;
  for (const dl of all) {
    try {
      report(ctx, await dlq.replayLetter(dl));
    } catch (e) {
      failed++;
      if (ctx.cli.flags.json) ctx.out(line({ seq: dl.seq, replayed: false, error: errorText(e) }));
      else ctx.err(`qw: ${errorText(e)}\n`);
    }
  }
  if (!ctx.cli.flags.json) {
    const n = all.length - failed;
    ctx.out(
      `Replayed ${n} of ${all.length} dead letter${all.length === 1 ? "" : "s"} from stream '${dlq.dlqStream}'\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}

/** One `qw dlq ls --json` line. Pure. */
export function listEntry(dl: DeadLetter): Record<string, unknown> {
  return {
    seq: dl.seq,
    task: dl.task,
    id: dl.id,
    reason: dl.reason,
    error: dl.error,
    originalSubject: dl.originalSubject,
    originalSeq: dl.originalSeq,
    deliveries: dl.deliveries,
    at: dl.at,
  };
}

/** The `qw dlq show --json` object: the list entry, every header and the body. Pure. */
export function showEntry(dl: DeadLetter): Record<string, unknown> {
  const text = utf8(dl.body);
  return {
    ...listEntry(dl),
    subject: dl.subject,
    headers: dl.headers.map(([k, v]) => ({ name: k, value: v })),
    ...(text === null ? { bodyBase64: base64(dl.body) } : { body: text }),
  };
}

/** `qw dlq ls` as a table. Pure. */
export function formatList(dls: DeadLetter[], dlqStream: string): string {
  if (dls.length === 0) return `No dead letters in stream '${dlqStream}'\n`;
  const rows = [
    ["SEQ", "TASK", "ID", "ORIG SEQ", "DELIVERIES", "DEAD-LETTERED AT", "REASON"],
    ...dls.map((d) => [
      String(d.seq),
      d.task,
      d.id ?? "-",
      String(d.originalSeq ?? "-"),
      String(d.deliveries ?? "-"),
      d.at,
      d.reason,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()).join(
    "\n",
  ) + "\n";
}

/** `qw dlq show` as text. Pure. */
export function formatShow(dl: DeadLetter): string {
  const text = utf8(dl.body);
  const lines = [
    `Dead letter ${dl.seq} (${dl.subject})`,
    `  task:         ${dl.task}`,
    `  id:           ${dl.id ?? "-"}`,
    `  reason:       ${dl.reason}`,
    `  error:        ${dl.error ? `${dl.error.name}: ${dl.error.message}` : "-"}`,
    `  subject:      ${dl.originalSubject ?? "-"} (seq ${dl.originalSeq ?? "-"}, ${dl.deliveries ?? "-"} deliveries)`,
    `  at:           ${dl.at}`,
    "Headers:",
    ...dl.headers.map(([k, v]) => `  ${k}: ${v}`),
    text === null ? `Body (${dl.body.length} bytes, not UTF-8, base64):` : `Body (${dl.body.length} bytes):`,
    text === null ? base64(dl.body) : text,
  ];
  return lines.join("\n") + "\n";
}

function utf8(b: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Connection events for the log, but not the close this command does itself. */
function quietClose(ctx: CommandContext) {
  return (e: QwEvent) => {
    if (!(e.type === "connection.status" && e.status === "close")) ctx.events.emit(e);
  };
}
