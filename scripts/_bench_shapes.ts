/**
 * How the bench's pre-published jobs are spread, for the rows that show what
 * priorities and per-key concurrency cost per job beside the defaults: all on
 * the task's plain subject; spread evenly over priorities 0-9 (level 5 on the
 * plain subject, the others on `<stream>.p<N>.<task>`, as a client publishes
 * them); or spread over `KEYS` concurrency keys of a task whose limit is 2 per
 * key, published on each key's subject with its header, as a client does.
 *
 * @module
 */

import { keySubject } from "../src/core/job/concurrency_key.ts";
import { job, type Outgoing } from "./_harness.ts";

/** The spreads a qw row can run on. */
export type JobShape = "plain" | "priorities" | "keys";

/** Concurrency keys of the "keys" spread. */
export const KEYS = 20;

/** The fixture task of a spread (scripts/fixtures/bench_tasks.ts; the keyed one in bench_keyed_tasks.ts). */
export function shapeTask(shape: JobShape | undefined): string {
  return shape === "keys" ? "keyed" : "noop";
}

/** Job `i` of `stream` in a spread. */
export function shapedJob(stream: string, task: string, i: number, shape: JobShape): Outgoing {
  const m = job(stream, task, `${stream}-${i}`, []);
  if (shape === "priorities") {
    const level = i % 10;
    if (level !== 5) m.subject = `${stream}.p${level}.${task}`;
  } else if (shape === "keys") {
    const key = `tenant-${i % KEYS}`;
    m.subject = keySubject(stream, task, key);
    m.headers = { ...m.headers, "Qw-Concurrency-Key": key };
  }
  return m;
}
