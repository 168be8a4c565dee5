/**
 * Firing schedules: every qw process whose tasks declare schedules publishes
 * each tick at its time as a normal job, with the tick's id as task id and
 * `Nats-Msg-Id`, so the stream's deduplication keeps one whatever the number
 * of processes. No leader: what to fire is the pure `dueTicks()`, given the
 * last tick any process fired (the schedules bucket) and this process's cursor.
 *
 * Before a tick is published the bucket is read, and after it the tick is
 * recorded there (compare-and-set, only forward): a process whose clock is
 * late finds the tick recorded and skips it, and the duplicate window covers
 * processes that publish the same tick at the same moment.
 *
 * @module
 */

import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  describeSchedule,
  dueTicks,
  firingTimeoutMs,
  type TaskSchedule,
  tickId,
} from "../../core/schedule.ts";
import type { Emitter } from "../../core/events.ts";
import { type OutgoingJob, publishJob } from "../../client/producer.ts";
import { prepareJob } from "../../client/prepare_job.ts";
import { KvScheduleStore, type ScheduleStore } from "../../client/buckets/schedule_store.ts";
import { errorText } from "../../client/connection.ts";
import type { Names } from "../../client/topology.ts";

/** The longest sleep between two checks: a clock that jumps is noticed within this. */
const MAX_SLEEP_MS = 60_000;
/** Wait after a failed round (the server is away) before trying again. */
const RETRY_MS = 1000;

/** What the firing loop needs. */
export interface ScheduleFiringOptions {
  schedules: readonly TaskSchedule[];
  store: ScheduleStore;
  /** Publish one tick's job; `duplicate` when the stream had it already. */
  publish(job: OutgoingJob): Promise<{ duplicate: boolean }>;
  emitter: Emitter;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** The firing loop of one process. */
export class ScheduleFiring {
  #o: ScheduleFiringOptions;
  #now: () => number;
  #cursor = new Map<TaskSchedule, number>();
  #stopped = false;
  #loop: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | null = null;

  constructor(o: ScheduleFiringOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Register the schedules, fire missed ticks per their `catchUp`, then each tick at its time. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stop firing; resolves once a tick being published is done. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  /**
   * One round: fire what is due now, every schedule at once so one slow
   * publish delays no other schedule. False when one failed. Exposed for tests
   * with a fake clock; the loop calls it.
   */
  async round(): Promise<boolean> {
    const results = await Promise.all(this.#o.schedules.map(async (s) => {
      try {
        await this.#handle(s);
        return true;
      } catch (e) {
        this.#o.emitter.emit({ type: "error", where: `schedule ${s.task}@${s.index}`, error: errorText(e) });
        return false;
      }
    }));
    return results.every(Boolean);
  }

  /** When the next round is due (epoch ms). */
  nextWake(): number {
    const now = this.#now();
    let wake = now + MAX_SLEEP_MS;
    for (const s of this.#o.schedules) {
      const next = s.after(this.#cursor.get(s) ?? now);
      if (next !== null && next < wake) wake = next;
    }
    return wake;
  }

  async #run(): Promise<void> {
    await this.#register();
    while (!this.#stopped) {
      const ok = await this.round();
      if (this.#stopped) break;
      const delay = ok ? this.nextWake() - this.#now() : RETRY_MS;
      await this.#sleep(Math.max(0, Math.min(MAX_SLEEP_MS, delay)));
    }
  }

  async #register(): Promise<void> {
    for (const s of this.#o.schedules) {
      try {
        await this.#o.store.register(s.task, s.index, s.spec);
      } catch (e) {
        this.#o.emitter.emit({ type: "error", where: `schedule ${s.task}@${s.index}`, error: errorText(e) });
      }
    }
  }

  async #handle(s: TaskSchedule): Promise<void> {
    const now = this.#now();
    const cursor = this.#cursor.get(s) ?? null;
    if (cursor !== null) {
      const next = s.after(cursor);
      if (next === null || next > now) return;
    }
    const last = await this.#o.store.lastTick(s.task, s.index);
    const due = dueTicks(s, { last, cursor }, now);
    if (due.skipped > 0) {
      this.#o.emitter.emit({ type: "schedule.skipped", task: s.task, index: s.index, ticks: due.skipped, catchUp: s.spec.catchUp });
    }
    for (const tick of due.fire) {
      if (this.#stopped) return;
      const id = tickId(s.task, s.index, tick);
      const { duplicate } = await this.#o.publish(prepareJob(s.task, s.spec.args, { id }));
      await this.#o.store.markFired(s.task, s.index, tick);
      this.#o.emitter.emit({ type: "schedule.fired", task: s.task, index: s.index, tick: new Date(tick).toISOString(), id, duplicate });
    }
    this.#cursor.set(s, due.cursor);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }
}

/** What a service starts after its consumer and stops first. */
export interface FiringHandle {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Set up firing for a service: open the schedules bucket (the set-up checks
 * the stream's duplicate window, see `dedupWindowShortfall()`). Nothing to set up when no task has a schedule or
 * firing is off (`--no-schedules`); `start()` then only reports the schedules.
 */
export async function setUpFiring(o: {
  nc: NatsConnection;
  names: Names;
  schedules: readonly TaskSchedule[];
  enabled: boolean;
  emitter: Emitter;
  /** A task's `priority` option: the priority of the jobs its schedules fire. */
  priorityOf?: (task: string) => number | undefined;
}): Promise<FiringHandle> {
  const { schedules, emitter, names } = o;
  const on = o.enabled && schedules.length > 0;
  // Each request of a round gives up before the next tick is due (firingTimeoutMs()), so one lost while the
  // cluster elects a leader does not hold the loop for the connection's whole timeout.
  const timeoutMs = firingTimeoutMs(schedules, Date.now());
  const store = on ? await KvScheduleStore.open(o.nc, names.schedulesBucket, { timeoutMs }) : null;
  const js = jetstream(o.nc, { timeout: timeoutMs });
  const firing = store === null ? null : new ScheduleFiring({
    schedules,
    store,
    publish: (job) => publishJob(js, names.stream, { ...job, priority: o.priorityOf?.(job.task) }),
    emitter,
  });
  return {
    start() {
      if (schedules.length === 0) return;
      const list = schedules.map((s) => `${s.task}@${s.index} ${describeSchedule(s.spec)}`);
      emitter.emit({ type: "schedule.started", schedules: list, firing: on });
      firing?.start();
    },
    stop: () => firing?.stop() ?? Promise.resolve(),
  };
}
