/**
 * A message delivered to qw's own pull requests (see consumer.ts), with the
 * client's JetStream message interface: acks are a reply on its ack subject
 * (`+ACK`, `-NAK`, `+WPI`, `+TERM`), and the delivery info is read from that
 * subject when asked (job_headers.ts). Every ack but `+WPI` is final; later ones are ignored,
 * as the client's own messages do.
 *
 * @module
 */

import type { DeliveryInfo, JsMsg, PullOptions } from "@nats-io/jetstream";
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/nats-core";
import { ackTimestampNanos, deliveryInfo } from "./job_headers.ts";

const encoder = new TextEncoder();
const ACK = encoder.encode("+ACK");
const NAK = encoder.encode("-NAK");
const WPI = encoder.encode("+WPI");
const TERM = encoder.encode("+TERM");

/** A job message: the core message it came as, and the JetStream message interface over it. */
export class JobMessage implements JsMsg {
  /** The core message (its raw header bytes are read by job_headers.ts). */
  readonly msg: Msg;
  #nc: NatsConnection;
  #info: DeliveryInfo | null = null;
  #final = false;

  constructor(msg: Msg, nc: NatsConnection) {
    this.msg = msg;
    this.#nc = nc;
  }

  get subject(): string {
    return this.msg.subject;
  }
  get sid(): number {
    return this.msg.sid;
  }
  get data(): Uint8Array {
    return this.msg.data;
  }
  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }
  /** The ack subject. */
  get reply(): string {
    return this.msg.reply ?? "";
  }
  get info(): DeliveryInfo {
    this.#info ??= deliveryInfo(this.reply);
    if (this.#info === null) throw new Error(`Cannot read the delivery info of '${this.reply}': not an ack subject`);
    return this.#info;
  }
  get redelivered(): boolean {
    return this.info.deliveryCount > 1;
  }
  get seq(): number {
    return this.info.streamSequence;
  }
  get timestampNanos(): bigint {
    return ackTimestampNanos(this.reply);
  }
  get time(): Date {
    return new Date(Math.floor(this.info.timestampNanos / 1e6));
  }
  get timestamp(): string {
    return this.time.toISOString();
  }

  ack(): void {
    this.#respond(ACK, true);
  }
  nak(millis?: number): void {
    this.#respond(millis ? encoder.encode(`-NAK ${JSON.stringify({ delay: millis * 1_000_000 })}`) : NAK, true);
  }
  working(): void {
    this.#respond(WPI, false);
  }
  term(reason = ""): void {
    this.#respond(reason.length > 0 ? encoder.encode(`+TERM ${reason}`) : TERM, true);
  }
  next(subj: string, ro: Partial<PullOptions> = { batch: 1 }): void {
    const args: Record<string, unknown> = { batch: ro.batch ?? 1, no_wait: ro.no_wait ?? false };
    if (ro.expires && ro.expires > 0) args.expires = ro.expires * 1_000_000;
    this.#respond(encoder.encode(`+NXT ${JSON.stringify(args)}`), true, subj);
  }
  /** Ack and wait for the server to confirm it: true once confirmed, false if already acked or not ackable. */
  async ackAck(opts?: Partial<{ timeout: number }>): Promise<boolean> {
    if (this.#final || !this.msg.reply) return false;
    this.#final = true;
    await this.#nc.request(this.msg.reply, ACK, { timeout: opts?.timeout ?? 5000 });
    return true;
  }
  /**
   * Term and wait for the server to confirm it: true once confirmed, false if
   * already settled or not ackable. Both 2.9 and 2.15 answer a term sent as a request.
   */
  async termAck(reason = "", opts?: Partial<{ timeout: number }>): Promise<boolean> {
    if (this.#final || !this.msg.reply) return false;
    this.#final = true;
    await this.#nc.request(this.msg.reply, reason.length > 0 ? encoder.encode(`+TERM ${reason}`) : TERM, {
      timeout: opts?.timeout ?? 5000,
    });
    return true;
  }
  json<T>(): T {
    return this.msg.json<T>();
  }
  string(): string {
    return this.msg.string();
  }

  #respond(payload: Uint8Array, final: boolean, reply?: string): void {
    if (this.#final) return;
    this.#final = final;
    this.msg.respond(payload, reply === undefined ? undefined : { reply });
  }
}
