/**
 * Publishes events on `_qw.events.<stream>` (core NATS, no acks) for
 * `qw events` and other tools. Never slows the worker: the listener only
 * appends to a buffer; a timer serialises the batch and publishes it as one
 * message of JSON lines (up to 256 KiB each), and a full buffer drops events
 * rather than grow.
 *
 * Each line is the event with `time` (ISO 8601, when it happened) and
 * `source` (the worker's name) added, e.g.
 * `{"type":"job.succeeded","time":"...","source":"host:42","ms":1.2,"id":"...",...}`.
 *
 * @module
 */

import type { QwEvent } from "../core/events.ts";

/** Events buffered before new ones are dropped. */
export const MAX_BUFFERED_EVENTS = 10_000;
/** Delay between the first buffered event and the flush. */
export const FLUSH_MS = 20;
/** Largest message published; a batch above it is split. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Where the publisher sends; a NatsConnection fits. */
export interface Publisher {
  publish(subject: string, payload: string): void;
}

/** Options of {@linkcode EventPublisher}. */
export interface EventPublisherOptions {
  subject: string;
  /** Put in every message as `source`. */
  source: string;
  flushMs?: number;
  maxBuffered?: number;
  now?: () => number;
}

/** The JSON text of a published event; `time` is epoch ms or an ISO 8601 string. Pure. */
export function eventMessage(e: QwEvent, time: number | string, source: string): string {
  return eventLine(e, eventStamp(typeof time === "string" ? time : new Date(time).toISOString(), source));
}

/** The `time` and `source` members every line carries, as JSON text to splice in after `type`. Pure. */
function eventStamp(iso: string, source: string): string {
  return `,"time":${JSON.stringify(iso)},"source":${JSON.stringify(source)}`;
}

// Every event is built with `type` first, and types need no escaping, so its
// JSON text starts with {"type":"<type>": splice the stamp in after it instead
// of copying the event (this runs twice per job, so the stamp is made once per
// batch and millisecond).
function eventLine(e: QwEvent, stamp: string): string {
  const full = JSON.stringify(e);
  const cut = 10 + e.type.length;
  if (full.startsWith(e.type, 9) && full.charCodeAt(cut - 1) === 34 /* " */ && full.startsWith('{"type":"')) {
    return full.length === cut + 1 ? full.slice(0, cut) + stamp + "}" : full.slice(0, cut) + stamp + full.slice(cut);
  }
  const { type, ...rest } = e;
  const tail = JSON.stringify(rest);
  return `{"type":${JSON.stringify(type)}${stamp}${tail === "{}" ? "}" : "," + tail.slice(1)}`;
}

/** Buffers events and publishes them in batches; attach `listener` to an emitter. */
export class EventPublisher {
  /** Pass to `Emitter.on`. */
  readonly listener = (e: QwEvent): void => this.push(e);
  /** Events dropped because the buffer was full or the connection refused them. */
  dropped = 0;
  /** Events published. */
  published = 0;
  #nc: Publisher;
  #o: Required<Omit<EventPublisherOptions, "now">> & { now: () => number };
  #buf: { t: number; e: QwEvent }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(nc: Publisher, options: EventPublisherOptions) {
    this.#nc = nc;
    this.#o = {
      subject: options.subject,
      source: options.source,
      flushMs: options.flushMs ?? FLUSH_MS,
      maxBuffered: options.maxBuffered ?? MAX_BUFFERED_EVENTS,
      now: options.now ?? Date.now,
    };
  }

  /** Buffer one event. O(1); never throws. */
  push(e: QwEvent): void {
    if (this.#closed || this.#buf.length >= this.#o.maxBuffered) {
      this.dropped++;
      return;
    }
    this.#buf.push({ t: this.#o.now(), e });
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#o.flushMs);
      // A pending flush must not keep a process alive; close() flushes.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Publish everything buffered now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#buf;
    this.#buf = [];
    // Events of one batch mostly share a millisecond: format each time once.
    let t = NaN;
    let stamp = "";
    let lines: string[] = [];
    let size = 0;
    let sent = 0;
    const send = (): boolean => {
      try {
        this.#nc.publish(this.#o.subject, lines.join("\n"));
        this.published += lines.length;
        sent += lines.length;
        lines = [];
        size = 0;
        return true;
      } catch {
        // Closed or over the reconnect buffer: the rest of the batch would fail alike.
        this.dropped += batch.length - sent;
        return false;
      }
    };
    for (let i = 0; i < batch.length; i++) {
      if (batch[i].t !== t) stamp = eventStamp(new Date(t = batch[i].t).toISOString(), this.#o.source);
      const line = eventLine(batch[i].e, stamp);
      if (size + line.length > MAX_MESSAGE_BYTES && lines.length > 0 && !send()) return;
      lines.push(line);
      size += line.length + 1;
    }
    if (lines.length > 0) send();
  }

  /** Flush and stop taking events. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
