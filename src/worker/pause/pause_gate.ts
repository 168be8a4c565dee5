/**
 * A worker's view of what is paused: it watches `qw_<stream>_paused` (every
 * stored pause is read before the first pull, so a restart forgets nothing),
 * answers {@linkcode PauseGate.decision} from core/pause.ts, wakes the puller
 * when something changes, and looks again when a pause ends by its `until`.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { openPauses, PauseSet } from "../../client/buckets/pauses.ts";
import type { KV } from "@nats-io/kv";
import type { QwEvent } from "../../core/events.ts";
import { isActive, nextPauseEnd, type PauseDecision, pauseDecision, streamPaused } from "../../core/pause.ts";
import { describePause } from "../../ops/pause_control.ts";

const NOT_PAUSED: PauseDecision = Object.freeze({ paused: false });

/** Options of {@linkcode PauseGate}. */
export interface PauseGateOptions {
  /** Something changed (a pause came, went, or ended by its `until`): take back the held jobs it pauses. */
  onChange(): void;
  /** The whole stream's pause came (with its `until`) or went, or was there at start. */
  onStreamPause?(paused: boolean, until: number | null): void;
  /** The stream, for the log lines. */
  stream: string;
  emit(e: QwEvent): void;
  now?: () => number;
}

/** What is paused, kept current. */
export class PauseGate {
  #set = new PauseSet();
  #o: PauseGateOptions;
  #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake!: () => void;
  #changes!: Promise<void>;
  #said = "";
  #streamWas = false;

  constructor(o: PauseGateOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#next();
  }

  /** Open (or create) the stream's pauses bucket, unless given it opened, and read it whole before resolving. */
  async watch(nc: NatsConnection, stream: string, opened: KV | Promise<KV> = openPauses(nc, stream)): Promise<void> {
    const kv = await opened;
    await this.#set.watch(kv, {
      onChange: () => this.#changed(),
      onInvalid: (key, reason) => this.#o.emit({ type: "error", where: "pauses", error: `Ignored key '${key}' of the pauses bucket: ${reason}` }),
    });
  }

  /** May a job of `task` start now, and if not, which pause holds it. */
  decision(task: string): PauseDecision {
    // Asked for every job: with no pause stored (the usual case), no copy of the records and no clock read.
    return this.#set.size === 0 ? NOT_PAUSED : pauseDecision(this.#set.records, task, this.#now());
  }

  /** The whole stream is paused: pull nothing. */
  get streamPaused(): boolean {
    return this.#set.size !== 0 && streamPaused(this.#set.records, this.#now());
  }

  /** Every one of `tasks` is paused: an idle pool with a backlog is not stalled. */
  allPaused(tasks: readonly string[]): boolean {
    return this.streamPaused || (tasks.length > 0 && tasks.every((t) => this.decision(t).paused));
  }

  /** Resolves at the next change (one promise for every caller until then). */
  whenChanged(): Promise<void> {
    return this.#changes;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#set.stop();
    this.#wakeAll();
  }

  #changed(): void {
    clearTimeout(this.#timer);
    const now = this.#now();
    const next = nextPauseEnd(this.#set.records, now);
    // A few ms late, so the pause has surely ended when looked at.
    if (next !== null) this.#timer = setTimeout(() => this.#changed(), Math.min(next - now + 5, 2 ** 31 - 1));
    this.#o.onChange();
    this.#wakeAll();
    const active = this.#set.records.filter((r) => isActive(r, now));
    const said = active.map((r) => describePause(this.#o.stream, r)).sort();
    if (said.join("\n") !== this.#said) this.#o.emit({ type: "pause.changed", paused: said });
    this.#said = said.join("\n");
    const stream = active.find((r) => r.task === null);
    if ((stream !== undefined) !== this.#streamWas) this.#o.onStreamPause?.(stream !== undefined, stream?.until ?? null);
    this.#streamWas = stream !== undefined;
  }

  #next(): void {
    this.#changes = new Promise((r) => (this.#wake = r));
  }

  #wakeAll(): void {
    const wake = this.#wake;
    this.#next();
    wake();
  }
}
