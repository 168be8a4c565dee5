/**
 * The dead letters of a work stream, kept on `<stream>_dlq` with the headers
 * of producer.ts (`Qw-Dlq-Reason`, `-Error`, `-Subject`, `-Seq`,
 * `-Deliveries`, `-At`): list, show, replay and purge. Parsing and the
 * replayed message are pure functions; {@linkcode DeadLetters} does the I/O.
 * The text and JSON output of `qw dlq` is in cmd_dlq.ts.
 *
 * Replay publishes the original body to its original subject with its
 * `Qw-Id`, retries reset to 0, and the dedup id `<id>:replay:<dlq seq>` (so
 * repeating a replay after a crash stores it once), then deletes the dead letter.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers as makeHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { errorText } from "../client/connection.ts";
import { Header } from "../client/producer.ts";
import { namesFor } from "../client/topology.ts";
import { isNoMessage, isStreamNotFound } from "../client/server_errors.ts";

/** A dead letter, decoded. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream. */
  seq: number;
  /** Subject in the dead-letter stream. */
  subject: string;
  /** Task name, from the original subject. */
  task: string;
  /** `Qw-Id`, when the message had one. */
  id: string | null;
  reason: string;
  error: { name: string; message: string } | null;
  originalSubject: string | null;
  originalSeq: number | null;
  deliveries: number | null;
  /** When it was dead-lettered (ISO 8601): `Qw-Dlq-At`, else when the server stored it. */
  at: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** A message as read from the server, reduced to what {@linkcode parseDeadLetter} needs. */
export interface RawMessage {
  seq: number;
  subject: string;
  headers: [string, string][];
  data: Uint8Array;
  time: Date;
}

/** The message a replay publishes. */
export interface ReplayMessage {
  subject: string;
  id: string;
  msgId: string;
  headers: [string, string][];
  data: Uint8Array;
}

/** What one replay did. */
export interface Replayed {
  seq: number;
  id: string;
  task: string;
  subject: string;
  /** Sequence of the new job in the work stream. */
  jobSeq: number;
  /** The server had already stored this replay (within its duplicate window). */
  duplicate: boolean;
}

const lower = (s: string) => s.toLowerCase();
const header = (h: [string, string][], name: string): string | null =>
  h.find(([k]) => lower(k) === lower(name))?.[1] ?? null;
const int = (s: string | null): number | null => (s !== null && /^\d+$/.test(s) ? Number(s) : null);

/** Decode a dead letter of `stream`'s dead-letter stream. Pure. */
export function parseDeadLetter(m: RawMessage, stream: string): DeadLetter {
  const h = m.headers;
  const original = header(h, Header.dlqSubject);
  const dlqPrefix = `${namesFor(stream).dlqStream}.`;
  const task = original?.startsWith(`${stream}.`)
    ? original.slice(stream.length + 1)
    : m.subject.startsWith(dlqPrefix)
    ? m.subject.slice(dlqPrefix.length)
    : m.subject;
  let error: DeadLetter["error"] = null;
  const errorText = header(h, Header.dlqError);
  if (errorText !== null) {
    try {
      const e = JSON.parse(errorText);
      error = { name: String(e?.name ?? "Error"), message: String(e?.message ?? "") };
    } catch {
      error = { name: "Error", message: errorText };
    }
  }
  const at = header(h, Header.dlqAt);
  return {
    seq: m.seq,
    subject: m.subject,
    task,
    id: header(h, Header.id),
    reason: header(h, Header.dlqReason) ?? "",
    error,
    originalSubject: original,
    originalSeq: int(header(h, Header.dlqSeq)),
    deliveries: int(header(h, Header.dlqDeliveries)),
    at: at !== null && !Number.isNaN(Date.parse(at)) ? at : m.time.toISOString(),
    headers: h,
    body: m.data,
  };
}

/** The job a replay of `dl` publishes to `stream`. Throws a one-line error when it cannot be replayed. Pure. */
export function replayMessage(dl: DeadLetter, stream: string): ReplayMessage {
  const subject = dl.originalSubject;
  if (subject === null || !subject.startsWith(`${stream}.`) || subject.startsWith(`${stream}._delayed.`)) {
    throw new Error(
      `Cannot replay dead letter ${dl.seq} as its original subject must be a job subject of stream '${stream}': current value is "${
        subject ?? ""
      }"`,
    );
  }
  // A message that never had a Qw-Id got this id from the worker (see dispatch.ts).
  const id = dl.id ?? `${stream}:${dl.originalSeq ?? dl.seq}`;
  const dropped = [Header.id, Header.retries, Header.eta].map(lower);
  const headers = dl.headers.filter(([k]) => !/^(qw-dlq-|nats-)/i.test(k) && !dropped.includes(lower(k)));
  headers.push([Header.id, id]);
  return { subject, id, msgId: `${id}:replay:${dl.seq}`, headers, data: dl.body };
}

function pairs(h: MsgHdrs | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (h) { for (const [k, vs] of h) for (const v of vs) out.push([k, v]); }
  return out;
}


/** The dead letters of one work stream on a server. */
export class DeadLetters {
  readonly stream: string;
  readonly dlqStream: string;
  #js: JetStreamClient;
  #jsm: JetStreamManager;

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string) {
    this.#js = js;
    this.#jsm = jsm;
    this.stream = stream;
    this.dlqStream = namesFor(stream).dlqStream;
  }

  /** Every dead letter, oldest first. */
  async list(): Promise<DeadLetter[]> {
    const info = await this.#info("list dead letters of");
    const out: DeadLetter[] = [];
    if (info.state.messages === 0) return out;
    const last = info.state.last_seq;
    const consumer = await this.#js.consumers.get(this.dlqStream);
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 256, expires: 2_000 });
      let got = 0;
      let done = false;
      for await (const m of batch) {
        got++;
        const time = new Date(Math.floor(m.info.timestampNanos / 1e6));
        out.push(
          parseDeadLetter(
            { seq: m.seq, subject: m.subject, headers: pairs(m.headers), data: m.data, time },
            this.stream,
          ),
        );
        if (m.info.pending === 0 || m.seq >= last) {
          done = true;
          break;
        }
      }
      if (done || got === 0) break;
    }
    await consumer.delete().catch(() => {});
    return out;
  }

  /** One dead letter; throws a one-line error when there is none at `seq`. */
  async get(seq: number): Promise<DeadLetter> {
    let m;
    try {
      m = await this.#jsm.streams.getMessage(this.dlqStream, { seq });
    } catch (e) {
      if (isStreamNotFound(e)) throw this.#noStream("read dead letters of", e);
      throw e;
    }
    if (!m) {
      throw new Error(`Cannot find dead letter ${seq} in stream '${this.dlqStream}': run 'qw dlq ls' to list them`);
    }
    return parseDeadLetter(
      { seq: m.seq, subject: m.subject, headers: pairs(m.header), data: m.data, time: m.time },
      this.stream,
    );
  }

  /** Re-enqueue one dead letter, then delete it. */
  async replay(seq: number): Promise<Replayed> {
    return this.replayLetter(await this.get(seq));
  }

  /** Re-enqueue a dead letter read by {@linkcode list} or {@linkcode get}, then delete it. */
  async replayLetter(dl: DeadLetter): Promise<Replayed> {
    const r = replayMessage(dl, this.stream);
    const h = makeHeaders();
    for (const [k, v] of r.headers) h.append(k, v);
    let ack;
    try {
      ack = await this.#js.publish(r.subject, r.data, { msgID: r.msgId, headers: h });
    } catch (e) {
      throw new Error(`Cannot replay dead letter ${dl.seq} to '${r.subject}': ${errorText(e)}`);
    }
    await this.#jsm.streams.deleteMessage(this.dlqStream, dl.seq, false).catch((e) => {
      // Deleted meanwhile (another replay): the job is enqueued either way.
      if (!isNoMessage(e)) throw e;
    });
    return { seq: dl.seq, id: r.id, task: dl.task, subject: r.subject, jobSeq: ack.seq, duplicate: ack.duplicate };
  }

  /** How many dead letters there are, and the sequence of the last one (0 when none ever was). */
  async count(): Promise<{ count: number; lastSeq: number }> {
    const info = await this.#info("count dead letters of");
    return { count: info.state.messages, lastSeq: info.state.last_seq };
  }

  /**
   * Delete every dead letter, or with `throughSeq` those up to it (what was counted before asking,
   * so letters that arrive meanwhile stay); resolves to how many were deleted.
   */
  async purge(throughSeq?: number): Promise<number> {
    await this.#info("purge dead letters of");
    const r = await this.#jsm.streams.purge(this.dlqStream, throughSeq === undefined ? undefined : { seq: throughSeq + 1 });
    return r.purged;
  }

  async #info(attempt: string) {
    try {
      return await this.#jsm.streams.info(this.dlqStream);
    } catch (e) {
      if (isStreamNotFound(e)) throw this.#noStream(attempt, e);
      throw e;
    }
  }

  #noStream(attempt: string, e: unknown): Error {
    return new Error(
      `Cannot ${attempt} stream '${this.stream}' as stream '${this.dlqStream}' does not exist (${
        errorText(e)
      }): start a worker with --stream ${this.stream} first`,
    );
  }
}
