/**
 * Reading what the dispatcher needs from a job message: its delivery count
 * and stream sequence, and the few headers it carries (Qw-Id, Nats-Msg-Id,
 * Qw-Retries, Qw-Rate-Slot, Qw-Flow, Qw-Runs, Qw-Expires,
 * Qw-Concurrency-Key, Qw-Unique, Qw-Debounce), without the client's full parse of either,
 * which was the largest cost per job on the pool's thread.
 *
 * @module
 */

import type { DeliveryInfo, JsMsg } from "@nats-io/jetstream";

/** The headers a worker reads from a job; null when absent. */
export interface JobHeaders {
  id: string | null;
  msgId: string | null;
  retries: string | null;
  rateSlot: string | null;
  /** `Qw-Flow`: the job is a step of a flow (its body says where). */
  flow: string | null;
  /** `Qw-Runs`: runs before this copy of a handed-back job. */
  runs: string | null;
  /** `Qw-Expires`: epoch ms after which the job must not start. */
  expires: string | null;
  /** `Qw-Concurrency-Key`: the job's concurrency key (core/job/concurrency_key.ts). */
  concurrencyKey: string | null;
  /** `Qw-Unique`: the job's unique key (core/job/unique.ts). */
  unique: string | null;
  /** `Qw-Debounce`: the job was debounced (it holds no unique key). */
  debounce: string | null;
}

const NONE: JobHeaders = {
  id: null, msgId: null, retries: null, rateSlot: null, flow: null, runs: null, expires: null, concurrencyKey: null, unique: null, debounce: null,
};
const decoder = new TextDecoder();

/**
 * The job headers of a NATS header block (`NATS/1.0\r\nKey: value\r\n...`).
 * Keys match without regard to case, as NATS clients differ there; the first
 * value wins. Pure.
 */
export function parseJobHeaders(block: string): JobHeaders {
  if (block === "") return NONE;
  const lower = block.toLowerCase();
  return {
    id: value(block, lower, "\nqw-id:"),
    msgId: value(block, lower, "\nnats-msg-id:"),
    retries: value(block, lower, "\nqw-retries:"),
    concurrencyKey: value(block, lower, "\nqw-concurrency-key:"),
    rateSlot: value(block, lower, "\nqw-rate-slot:"),
    flow: value(block, lower, "\nqw-flow:"),
    runs: value(block, lower, "\nqw-runs:"),
    expires: value(block, lower, "\nqw-expires:"),
    unique: value(block, lower, "\nqw-unique:"),
    debounce: value(block, lower, "\nqw-debounce:"),
  };
}

function value(block: string, lower: string, key: string): string | null {
  const at = lower.indexOf(key);
  if (at < 0) return null;
  const start = at + key.length;
  const end = block.indexOf("\r", start);
  return block.slice(start, end < 0 ? block.length : end).trim();
}

interface MsgInternals {
  msg?: { _msg?: { hdr?: number }; _rdata?: Uint8Array };
}

/**
 * The job headers of a message. Reads the raw header bytes of
 * @nats-io/nats-core 3.x's message (pinned in the lockfile); any other shape
 * falls back to the client's own header map.
 */
export function jobHeaders(msg: JsMsg): JobHeaders {
  const inner = (msg as unknown as MsgInternals).msg;
  const hdr = inner?._msg?.hdr;
  const raw = inner?._rdata;
  if (typeof hdr === "number" && raw instanceof Uint8Array) {
    return hdr > 0 ? parseJobHeaders(decoder.decode(raw.subarray(0, hdr))) : NONE;
  }
  const h = msg.headers;
  if (!h) return NONE;
  const get = (k: string) => h.get(k) || null;
  return {
    id: get("Qw-Id"), msgId: get("Nats-Msg-Id"), retries: get("Qw-Retries"), rateSlot: get("Qw-Rate-Slot"), flow: get("Qw-Flow"), runs: get("Qw-Runs"), expires: get("Qw-Expires"),
    concurrencyKey: get("Qw-Concurrency-Key"), unique: get("Qw-Unique"), debounce: get("Qw-Debounce"),
  };
}

/**
 * Where the stream's name is in an ack subject of `tokens` tokens, or -1 if
 * no ack subject has that many. Pure.
 *
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or
 * with `<domain>.<account hash>` after `$JS.ACK` and a token at the end.
 */
export const streamToken = (tokens: number): number => (tokens === 9 ? 2 : tokens >= 11 ? 4 : -1);

/**
 * The delivery count and stream sequence of a JetStream message, read from its
 * ack subject without parsing the rest of it (the client's full parse was a
 * tenth of the worker's time per job). Null if the subject is not one. Pure.
 */
export function ackNumbers(reply: string): { deliveryCount: number; seq: number } | null {
  const dots: number[] = [];
  for (let i = 0; i < reply.length; i++) if (reply.charCodeAt(i) === 46) dots.push(i);
  const at = streamToken(dots.length + 1) + 2; // the delivery count's token
  if (at < 2 || !reply.startsWith("$JS.ACK.")) return null;
  const deliveryCount = Number(reply.slice(dots[at - 1] + 1, dots[at]));
  const seq = Number(reply.slice(dots[at] + 1, dots[at + 1]));
  return Number.isInteger(deliveryCount) && Number.isInteger(seq) ? { deliveryCount, seq } : null;
}

/** The publish time in an ack subject, in nanoseconds (exact: a number would lose them); 0n if it is not one. Pure. */
export function ackTimestampNanos(reply: string): bigint {
  const t = reply.split(".");
  const at = streamToken(t.length);
  return at < 0 ? 0n : BigInt(t[at + 5] ?? 0);
}

/** All the delivery info in an ack subject (see {@linkcode ackNumbers}), or null if it is not one. Pure. */
export function deliveryInfo(reply: string): DeliveryInfo | null {
  const t = reply.split(".");
  const at = streamToken(t.length);
  if (t[0] !== "$JS" || t[1] !== "ACK" || at < 0) return null;
  const n = (i: number) => Number(t[at + i]);
  const info: DeliveryInfo = {
    domain: at === 2 || t[2] === "_" ? "" : t[2],
    stream: t[at],
    consumer: t[at + 1],
    deliveryCount: n(2),
    streamSequence: n(3),
    deliverySequence: n(4),
    timestampNanos: n(5),
    pending: n(6),
    redelivered: n(2) > 1,
  };
  if (at === 4) info.account_hash = t[3];
  return [info.deliveryCount, info.streamSequence, info.deliverySequence, info.pending].every(Number.isInteger) ? info : null;
}
