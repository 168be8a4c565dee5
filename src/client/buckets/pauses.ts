/**
 * Durable pauses: the KV bucket `qw_<stream>_paused`, key `stream` for the
 * whole stream and `task.<name>` per task (core/pause.ts reads them). Written
 * by `qw pause` / `qw resume` and the dashboard, watched by every worker
 * (including ones that start later), so a pause survives every process
 * restarting. Deleting a key resumes.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { keyFor } from "./result_store.ts";
import { encodePause, pauseEntry, type PauseRecord, STREAM_PAUSE_KEY } from "../../core/pause.ts";

/** The pauses bucket of a stream. */
export function pausesBucket(stream: string): string {
  return `qw_${stream}_paused`;
}

/** The key of a pause: the whole stream's, or a task's. Pure. */
export function pauseKey(task: string | null): string {
  return task === null ? STREAM_PAUSE_KEY : `task.${keyFor(task)}`;
}

/** Open (or create) the pauses bucket: one value per key, no TTL (a pause holds until resumed or its `until`). */
export async function openPauses(nc: NatsConnection, stream: string): Promise<KV> {
  return await new Kvm(nc).create(pausesBucket(stream), { history: 1 });
}

/** Store a pause. */
export async function putPause(kv: KV, r: PauseRecord): Promise<void> {
  await kv.put(pauseKey(r.task), encodePause(r));
}

/** Remove a pause; true when there was one. */
export async function deletePause(kv: KV, task: string | null): Promise<boolean> {
  const had = await kv.get(pauseKey(task));
  await kv.delete(pauseKey(task));
  return had !== null && had.operation === "PUT";
}

/**
 * The pauses stored now and every change after, in memory: `watch()`
 * resolves once every stored entry is read; `onChange` runs after each change
 * that follows (and once when caught up).
 */
export class PauseSet {
  #map = new Map<string, PauseRecord>();
  #stop: (() => void) | null = null;

  /** How many pauses are known now (expired ones included). */
  get size(): number {
    return this.#map.size;
  }

  /** Every pause known now (expired ones included: core/pause.ts ignores them). */
  get records(): PauseRecord[] {
    return [...this.#map.values()];
  }

  /** Watch the bucket; values that are not pauses are ignored and reported through `onInvalid`. */
  async watch(kv: KV, o: { onChange(): void; onInvalid?(key: string, reason: string): void }): Promise<void> {
    const status = await kv.status();
    const it = await kv.watch();
    this.#stop = () => it.stop();
    let caughtUp!: () => void;
    let ready = false;
    const done = new Promise<void>((r) => (caughtUp = r));
    const settle = () => {
      if (!ready) {
        ready = true;
        caughtUp();
      }
      o.onChange();
    };
    if (status.values === 0) settle();
    void (async () => {
      for await (const e of it) {
        const entry = pauseEntry(e);
        if (entry.kind === "resume") this.#map.delete(entry.key);
        else if (entry.kind === "invalid") o.onInvalid?.(entry.key, entry.reason);
        else this.#map.set(entry.key, entry.record);
        if (ready || e.delta === 0) settle();
      }
    })();
    await done;
  }

  stop(): void {
    this.#stop?.();
  }
}
