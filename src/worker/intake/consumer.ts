/**
 * Pulls messages from a durable pull consumer, never more than the pool has
 * room for, so no message waits in a client-side buffer while its ack wait
 * runs out. Never decides acks and never touches Web Workers.
 *
 * One subscription for the life of the puller; each pull request is a
 * publish to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with its own
 * reply subject (`<inbox>.<n>`). Deliveries come with the stream's subject,
 * so they cannot say which request they fill; the statuses that end a
 * request early (408 at its expiry, 409, 404) come on its reply subject with
 * how many of its messages it will not bring. The client's fetch made a
 * subscription, an iterator and a heartbeat monitor per request, and passed
 * each message through an async iterator: most of the host's cost per job.
 *
 * Credits: the messages asked for, less those that came and those the server
 * said will not. A request the server did not answer by its expiry plus a
 * grace period (its word lost with a connection) is taken as ended; once no
 * request is open, no credit is either. A new pull is sent when there is room
 * beyond the open credits (always when none is open, otherwise in chunks of
 * at least MIN_EXTRA_PULL to keep requests few).
 *
 * With `levels` (priorities, see priority_levels.ts) each pull goes to the
 * consumer of the level the policy picks, as a `no_wait` pull that ends as
 * soon as it brought what that level had; only when no level is known to
 * wait is it a long poll, of the default level. A level that gets work while
 * that long poll is open is pulled at once, beyond the long poll's credits:
 * so the pool may get up to twice its room for a moment, and queues it.
 *
 * @module
 */

import type { JsMsg } from "@nats-io/jetstream";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import { JobMessage } from "./job_message.ts";
import { deliveryInfo } from "./job_headers.ts";
import type { PriorityLevels } from "./priority_levels.ts";
import { DEFAULT_PRIORITY, type LevelChoice } from "../../core/job/priority.ts";

const MIN_EXTRA_PULL = 64;
// Short, because shutdown waits for open pull requests to expire.
const PULL_EXPIRES_MS = 2_000;
// A request the server did not end this long after its expiry is taken as ended.
const GRACE_MS = 1_000;
// After a refusal that is not about this request alone (no JetStream, consumer deleted).
const ERROR_PAUSE_MS = 500;
// How long a `no_wait` pull of a level waits when the level looks empty: a job whose signal came before it was stored.
const LEVEL_EXPIRES_MS = 100;

/** What the puller needs from its owner. */
export interface PullerOptions {
  nc: NatsConnection;
  /** The stream and durable name of the pull consumer. */
  stream: string;
  consumer: string;
  /** How many more messages the owner can take now. */
  room(): number;
  /** Resolves when room may have grown. */
  whenRoom(): Promise<void>;
  onMessage(m: JsMsg): void;
  /**
   * A message an open request brought after `stop()`. Without it, it is naked
   * at once; but a nak raises its delivery count (read as a run) and may bring
   * it straight back to this process's own open requests.
   */
  onLate?(m: JsMsg): void;
  /** A pull failed; `transient` ones (a leader change, too many waiting pulls) are retried at once. */
  onError(error: string, transient: boolean): void;
  expiresMs?: number;
  /** The priority levels to pull from, highest first; without it, only `consumer`. */
  levels?: PriorityLevels;
}

/** What a status message on a pull's subject means for the puller. Pure. */
export function pullStatus(code: number, description: string): { ends: boolean; error: string | null; transient: boolean } {
  if (code === 100) return { ends: false, error: null, transient: true }; // heartbeat or flow control
  if (code === 404 || code === 408) return { ends: true, error: null, transient: true }; // no messages, expired
  if (code === 409) {
    const d = description.toLowerCase();
    // The connection's own lines say what happened; the next pull goes to the new leader or server.
    if (d.includes("server shutdown") || d.includes("leadership change")) return { ends: true, error: null, transient: true };
    const fatal = d.includes("consumer deleted") || d.includes("consumer is push based");
    return { ends: true, error: `pull ended by the server: ${description}`, transient: !fatal };
  }
  if (code === 503) return { ends: true, error: "no JetStream responders for the pull (is JetStream enabled?)", transient: false };
  return { ends: true, error: `pull ended by the server: ${code} ${description}`, transient: false };
}

/** A pull loop with credit accounting; `stop()` ends it. */
export class Puller {
  #opts: PullerOptions;
  #inbox = createInbox();
  #api: string;
  #sub: Subscription | null = null;
  /** Open requests: their reply token, when they are taken as ended, and their level (-1: a long poll). */
  #pulls = new Map<string, { endsAt: number; level: number; n: number }>();
  #outstanding = 0;
  /** Credits of open long polls (of the default level), and of each level's open pulls. */
  #longOut = 0;
  #levelOut = new Array<number>(10).fill(0);
  /**
   * The open pull of each level: one at a time, so a deep pool does not send pull after pull to a level just
   * drained, and a delivery (its ack subject names the consumer) tells which pull it fills: a filled `no_wait`
   * pull gets no status from the server.
   */
  #levelPull = new Array<string | null>(10).fill(null);
  #n = 0;
  #stopped = false;
  #pauseUntil = 0;
  #kick: (() => void) | null = null;
  #done: Promise<void> | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(opts: PullerOptions) {
    this.#opts = opts;
    this.#api = `$JS.API.CONSUMER.MSG.NEXT.${opts.stream}.${opts.consumer}`;
  }

  /** Start pulling. */
  start(): void {
    if (this.#done) return;
    this.#sub = this.#opts.nc.subscribe(`${this.#inbox}.*`, { callback: (_e, m) => this.#onDelivery(m) });
    this.#sweep = setInterval(() => this.#expire(Date.now()), 250);
    this.#opts.levels?.start();
    this.#done = this.#loop();
  }

  /**
   * Stop pulling: no new requests. Open requests cannot be cancelled on the
   * server, and a message already on its way would be dropped by an
   * unsubscribe (and come back only after its ack wait), so they run until
   * they end and whatever they still bring goes to `onLate`. With
   * `waitForPulls: false` (the connection is down, so nothing can arrive)
   * it stops at once.
   */
  async stop(o: { waitForPulls?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#opts.levels?.stop();
    this.#kick?.();
    await this.#done;
    while (o.waitForPulls !== false && this.#pulls.size > 0 && this.#outstanding > 0) {
      await new Promise<void>((r) => (this.#kick = r));
      this.#kick = null;
    }
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sub?.unsubscribe();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const wait = this.#pauseUntil - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      const levels = this.#opts.levels?.several ? this.#opts.levels : null;
      const choice = levels?.next() ?? null;
      // A level known to wait may take the credits a long poll holds.
      const busy = this.#outstanding - (choice ? this.#longOut : 0);
      const want = this.#opts.room() - busy;
      if (want > 0 && (busy === 0 || want >= MIN_EXTRA_PULL) && !(choice && this.#levelPull[choice.level] !== null)) {
        this.#request(choice ? Math.min(want, choice.max) : want, levels ? choice : undefined);
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#kick = resolve;
        void this.#opts.whenRoom().then(resolve);
        if (levels) void levels.whenChanged().then(resolve);
      });
      this.#kick = null;
    }
  }

  /** A pull of `n`: a long poll of `consumer` (`choice` undefined, or null with levels), else a `no_wait` pull of its level. */
  #request(n: number, choice?: LevelChoice | null): void {
    const levels = this.#opts.levels;
    const level = choice ? choice.level : -1;
    const expires = choice ? LEVEL_EXPIRES_MS : this.#opts.expiresMs ?? PULL_EXPIRES_MS;
    const token = (++this.#n).toString(36);
    this.#pulls.set(token, { endsAt: Date.now() + expires + GRACE_MS, level, n });
    this.#outstanding += n;
    if (level < 0) this.#longOut += n;
    else {
      this.#levelOut[level] += n;
      this.#levelPull[level] = token;
    }
    // Only a level whose signal came since its last pull waits (briefly) for a job not stored yet; the others
    // end at once when empty, holding no room.
    const wait = choice ? levels!.signaled(level) : false;
    if (choice !== undefined) levels?.sent(choice);
    const api = choice ? `$JS.API.CONSUMER.MSG.NEXT.${this.#opts.stream}.${levels!.consumer(level)}` : this.#api;
    const body = !choice
      ? { batch: n, expires: expires * 1_000_000 }
      : wait
      ? { batch: n, expires: expires * 1_000_000, no_wait: true }
      : { batch: n, no_wait: true };
    try {
      this.#opts.nc.publish(api, JSON.stringify(body), { reply: `${this.#inbox}.${token}` });
    } catch (e) {
      // Closed or over the reconnect buffer: end it now and try again shortly.
      this.#end(token, n);
      this.#fail(e instanceof Error ? e.message : String(e), false);
    }
  }

  #onDelivery(m: Msg): void {
    if (m.reply?.startsWith("$JS.ACK.")) {
      if (this.#outstanding > 0 && --this.#outstanding === 0) this.#kick?.();
      if (this.#opts.levels?.several) this.#tally(m.reply);
      const msg = new JobMessage(m, this.#opts.nc);
      if (!this.#stopped) this.#opts.onMessage(msg);
      else if (this.#opts.onLate) this.#opts.onLate(msg);
      else msg.nak();
      return;
    }
    const status = pullStatus(m.headers?.code ?? 0, m.headers?.description ?? "");
    const token = m.subject.slice(this.#inbox.length + 1);
    // Without the count, nothing is released until no request is open.
    // A no_wait pull that brought some ends with a bare 404: what its level still owes it never comes.
    const count = m.headers?.get("Nats-Pending-Messages");
    if (status.ends) this.#end(token, count ? Number(count) || 0 : null, m.headers?.code === 404 || m.headers?.code === 408);
    if (status.error) this.#fail(status.error, status.transient);
  }

  #fail(error: string, transient: boolean): void {
    if (this.#stopped) return;
    this.#opts.onError(error, transient);
    if (!transient) this.#pauseUntil = Date.now() + ERROR_PAUSE_MS;
  }

  /** A delivery of a level: one credit of that level (or of the long poll) used, and what it has pending. */
  #tally(reply: string): void {
    const info = deliveryInfo(reply);
    const levels = this.#opts.levels!;
    const level = info ? levels.levelOf(info.consumer) : DEFAULT_PRIORITY;
    if (info) levels.delivered(level, info.pending);
    const token = this.#levelPull[level];
    // The default level's consumer serves the long poll too, and the server fills its waiting requests in order:
    // the long poll was there first. Counted against the level's no_wait pull, the job would end that pull as
    // filled (its own "nothing" then ignored) and leave the long poll owing a credit it no longer holds: no pull
    // would go out until the long poll expired.
    if (level === DEFAULT_PRIORITY && this.#longOut > 0) this.#longOut--;
    else if (token !== null && this.#levelOut[level] > 0) {
      // Its level's open pull: filled, it ends here.
      if (--this.#levelOut[level] === 0) this.#end(token, 0);
    } else if (this.#longOut > 0) this.#longOut--;
  }

  /** Request `token` ended with `unfilled` of its messages never to come (null: not said); `drained`: its consumer had no more. */
  #end(token: string, said: number | null, drained = false): void {
    const pull = this.#pulls.get(token);
    if (!pull) return;
    this.#pulls.delete(token);
    const unfilled = said ?? (pull.level < 0 ? 0 : Math.min(pull.n, this.#levelOut[pull.level]));
    this.#outstanding = this.#pulls.size === 0 ? 0 : Math.max(0, this.#outstanding - unfilled);
    if (pull.level < 0) this.#longOut = Math.max(0, this.#longOut - unfilled);
    else {
      this.#levelOut[pull.level] = Math.max(0, this.#levelOut[pull.level] - unfilled);
      if (this.#levelPull[pull.level] === token) this.#levelPull[pull.level] = null;
      if (drained) this.#opts.levels?.ended(pull.level);
    }
    if (this.#pulls.size === 0) {
      this.#longOut = 0;
      this.#levelOut.fill(0);
      this.#levelPull.fill(null);
    }
    this.#kick?.();
  }

  // A request whose end the server never said (the connection dropped) is taken as ended.
  #expire(now: number): void {
    for (const [token, pull] of this.#pulls) if (pull.endsAt <= now) this.#end(token, 0);
  }
}
