/**
 * Which priority levels may have jobs waiting, for the puller to ask the
 * highest first (core/priority.ts has the policy). Known without polling:
 *
 * - a publish on `<stream>.p<N>.*` reaches this process too (a core
 *   subscription per level): level N may have work. Only jobs of a
 *   non-default priority cost that copy; plain jobs cost nothing more.
 * - every delivery's ack subject says how many more its consumer has
 *   pending; a pull that ends unfilled says the level is drained.
 * - the default level has no such signal (its subject is every plain job's):
 *   while a lower level is being pulled it is asked again every
 *   `DEFAULT_RECHECK_MS`; when nothing is known to wait, the puller keeps a
 *   long poll on it as before.
 * - every `SWEEP_MS` all levels count as waiting once more (a signal missed
 *   across a reconnect, or at start).
 *
 * A level is marked drained only if no signal came after its last pull was
 * sent: a job published while that pull was under way is not lost.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  chooseLevel,
  DEFAULT_PRIORITY,
  freshHistory,
  type LevelChoice,
  PRIORITY_LEVELS,
  type PullHistory,
  recordPull,
  recordTaken,
} from "../../core/job/priority.ts";

const DEFAULT_RECHECK_MS = 100;
const SWEEP_MS = 5_000;

/** What the levels need: the levels that have a consumer, and each one's consumer name. */
export interface PriorityLevelsOptions {
  nc: NatsConnection;
  stream: string;
  levels: readonly number[];
  consumerOf(level: number): string;
  now?: () => number;
}

/** The waiting levels of one stream, as this process knows them. */
export class PriorityLevels {
  #o: PriorityLevelsOptions;
  #waiting: boolean[] = PRIORITY_LEVELS.map(() => false);
  #signals: number[] = PRIORITY_LEVELS.map(() => 0);
  #sentWith: number[] = PRIORITY_LEVELS.map(() => 0);
  #byConsumer = new Map<string, number>();
  #history: PullHistory = freshHistory();
  /** Per level, how its last pull was chosen. */
  #chosen: (LevelChoice | null)[] = PRIORITY_LEVELS.map(() => null);
  #defaultAskedAt = 0;
  #subs: Subscription[] = [];
  #sweep: ReturnType<typeof setInterval> | null = null;
  #changed: (() => void) | null = null;

  constructor(o: PriorityLevelsOptions) {
    this.#o = o;
    for (const l of o.levels) this.#byConsumer.set(o.consumerOf(l), l);
    this.#all();
  }

  /** Whether there is more than the default level to pull from. */
  get several(): boolean {
    return this.#o.levels.length > 1;
  }

  /** Subscribe to the signals of the non-default levels and start the sweep. */
  start(): void {
    for (const l of this.#o.levels) {
      if (l === DEFAULT_PRIORITY) continue;
      this.#subs.push(this.#o.nc.subscribe(`${this.#o.stream}.p${l}.*`, { callback: () => this.#signal(l) }));
    }
    this.#sweep = setInterval(() => this.#all(), SWEEP_MS);
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    if (this.#sweep) clearInterval(this.#sweep);
    this.#changed?.();
  }

  /** The consumer of a level. */
  consumer(level: number): string {
    return this.#o.consumerOf(level);
  }

  /** The level of a consumer, or the default one for a name not known. */
  levelOf(consumer: string): number {
    return this.#byConsumer.get(consumer) ?? DEFAULT_PRIORITY;
  }

  /** Where the next pull goes; null when no level is known to wait (long-poll the default one). */
  next(): LevelChoice | null {
    const now = (this.#o.now ?? Date.now)();
    if (!this.#waiting[DEFAULT_PRIORITY] && now - this.#defaultAskedAt >= DEFAULT_RECHECK_MS) {
      for (let l = 0; l < DEFAULT_PRIORITY; l++) if (this.#waiting[l]) this.#waiting[DEFAULT_PRIORITY] = true;
    }
    return chooseLevel(this.#waiting, this.#history);
  }

  /** A pull went to `choice` (null: a long poll of the default level); its jobs count as they come. */
  sent(choice: LevelChoice | null): void {
    const level = choice?.level ?? DEFAULT_PRIORITY;
    this.#sentWith[level] = this.#signals[level];
    if (level === DEFAULT_PRIORITY) this.#defaultAskedAt = (this.#o.now ?? Date.now)();
    if (choice) {
      this.#history = recordPull(this.#history, choice);
      this.#chosen[level] = choice;
    }
  }

  /** Whether a publish on `level` came since its last pull was sent (it may not be stored yet). */
  signaled(level: number): boolean {
    return this.#signals[level] !== this.#sentWith[level];
  }

  /** A job came from `level` and its consumer has `pending` more. */
  delivered(level: number, pending: number): void {
    const chosen = this.#chosen[level];
    if (chosen) this.#history = recordTaken(this.#history, chosen);
    if (pending > 0) this.#mark(level, true);
    else this.#drained(level);
  }

  /** A pull of `level` ended before it was filled: the level is drained. */
  ended(level: number): void {
    this.#drained(level);
  }

  /** Resolves when a level may have got work. */
  whenChanged(): Promise<void> {
    return new Promise((r) => (this.#changed = r));
  }

  /** What each level is known to have waiting (for a test or a status line). */
  waiting(): boolean[] {
    return this.#waiting.slice();
  }

  #signal(level: number): void {
    this.#signals[level]++;
    this.#mark(level, true);
  }

  #drained(level: number): void {
    if (this.#signals[level] === this.#sentWith[level]) this.#waiting[level] = false;
  }

  #mark(level: number, on: boolean): void {
    if (this.#waiting[level] === on) return;
    this.#waiting[level] = on;
    if (on) {
      const c = this.#changed;
      this.#changed = null;
      c?.();
    }
  }

  #all(): void {
    for (const l of this.#o.levels) this.#mark(l, true);
  }
}
