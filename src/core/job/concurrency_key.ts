/**
 * Per-key concurrency: the names and the decisions.
 *
 * A job with a concurrency key (header `Qw-Concurrency-Key`, or a task with
 * the `concurrency` option) waits on a subject of its own key,
 * `<stream>._key.<task>.<key token>`. Each key has one durable pull consumer
 * filtered to that subject with `max_ack_pending` = the task's limit: the
 * server then holds the limit across every process, and the slot of a job
 * whose process died frees when its ack wait runs out. Workers serve the
 * active keys in turn, one job per key per turn.
 *
 * Pure: no clock, no NATS.
 *
 * @module
 */

import { scheduleToken } from "./delay_hold.ts";
import type { Outcome } from "./ack_policy.ts";

/** The header a producer in any language sets to give a job a concurrency key. */
export const CONCURRENCY_KEY_HEADER = "Qw-Concurrency-Key";

/** The longest concurrency key, in characters. */
export const MAX_CONCURRENCY_KEY = 256;

/** The limit of a key whose task has no `concurrency` option (a job carried the header alone). */
export const DEFAULT_KEY_LIMIT = 1;

/** The subject token of the key a task shares when it has `concurrency` and its job carries no key. */
const TASK_WIDE_TOKEN = "_";

/** The token of a task name in a subject or a consumer name: itself when plain, else `_` and its base64url. */
const taskToken = (task: string): string => /^[A-Za-z0-9-]+$/.test(task) ? task : `_${scheduleToken(task)}`;

/** The subject token of a key: its base64url without padding; the empty key (task-wide) is `_`. Pure. */
export const keyToken = (key: string): string => key === "" ? TASK_WIDE_TOKEN : scheduleToken(key);

/** Every key subject of a stream: kept apart from `<stream>.*` (the work consumer) and `<stream>.p<N>.>`. */
export const keySubjects = (stream: string): string => `${stream}._key.>`;

/** The subject jobs of `task` with concurrency key `key` wait on. Pure. */
export const keySubject = (stream: string, task: string, key: string): string => `${stream}._key.${task}.${keyToken(key)}`;

/** The task and key token of a key subject, or null when `subject` is not one. Pure. */
export function parseKeySubject(stream: string, subject: string): { task: string; token: string } | null {
  const prefix = `${stream}._key.`;
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  const dot = rest.lastIndexOf(".");
  if (dot <= 0 || dot === rest.length - 1) return null;
  return { task: rest.slice(0, dot), token: rest.slice(dot + 1) };
}

// FNV-1a, 32 bits twice with two seeds: a short stable name for a long key (not a security property).
function fnv(s: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

/** The longest consumer name qw makes for a key; a longer one is shortened with a hash. */
export const MAX_KEY_CONSUMER_NAME = 200;

/**
 * The durable consumer of one key of one task: `<consumer>_key_<task>_<key token>`
 * (base64url keeps it free of `.`, `*`, `>` and spaces), shortened with a hash
 * when longer than {@linkcode MAX_KEY_CONSUMER_NAME}. Pure.
 */
export function keyConsumerName(consumer: string, task: string, token: string): string {
  const name = `${consumer}_key_${taskToken(task)}_${token}`;
  if (name.length <= MAX_KEY_CONSUMER_NAME) return name;
  return `${name.slice(0, MAX_KEY_CONSUMER_NAME - 30)}_${fnv(name, 2166136261)}${fnv(name, 374761393)}`;
}

/**
 * The concurrency key of a job that arrived on its task's subject, or null
 * when it has none: the header wins; else a task with `concurrency` gives the
 * key its `key` function computed (`computed`), or the task-wide key `""`. Pure.
 */
export function concurrencyKeyOf(header: string | null, task: { concurrency: { limit: number } | null }, computed: string | null = null): string | null {
  if (header !== null && header !== "") return header;
  if (task.concurrency === null) return null;
  return computed ?? "";
}

/** Why a concurrency key cannot be used, or null. Pure. */
export function invalidKey(key: string): string | null {
  if (key.length > MAX_CONCURRENCY_KEY) return `Header '${CONCURRENCY_KEY_HEADER}' must be at most ${MAX_CONCURRENCY_KEY} characters: current length is ${key.length}`;
  if (/[\r\n]/.test(key)) return `Header '${CONCURRENCY_KEY_HEADER}' must be one line: current value is ${JSON.stringify(key)}`;
  return null;
}

/** The limit of a key of `task`: its `concurrency.limit`, or {@linkcode DEFAULT_KEY_LIMIT} when it has none. Pure. */
export const keyLimit = (task: { concurrency: { limit: number } | null } | undefined): number =>
  task?.concurrency?.limit ?? DEFAULT_KEY_LIMIT;

/**
 * A keyed job is acked when it ends (its ack is what frees its key's slot), so
 * an early-ack task's job is not acked at its start. A redelivery of such a
 * job (delivery count above 1) may have run already: it is not run again, but
 * settled as a lost Web Worker, which keeps early ack's at most once. Pure.
 */
export const lostKeyedRun = (o: { acksLate: boolean; deliveryCount: number }): boolean => !o.acksLate && o.deliveryCount > 1;

/** The outcome of a keyed job {@linkcode lostKeyedRun} settles without running it. */
export const KEYED_LOST: Outcome = {
  kind: "worker_lost",
  error: { name: "WorkerLostError", message: "Delivered again after a run that may have happened (a keyed job of an early-ack task): not run again" },
};

/**
 * The turn order after the active keys were read again: keys still active keep
 * their place, gone ones leave, new ones join at the end (sorted, so every
 * process starts from the same order). Pure.
 */
export function mergeActive(order: readonly string[], active: Iterable<string>): string[] {
  const now = new Set(active);
  const kept = order.filter((k) => now.has(k));
  const known = new Set(kept);
  return [...kept, ...[...now].filter((k) => !known.has(k)).sort()];
}

/** Key `key` was served (a job came, or its pull ended empty): it goes to the end of the turn order. Pure. */
export function served(order: readonly string[], key: string): string[] {
  const i = order.indexOf(key);
  if (i < 0) return [...order];
  return [...order.slice(0, i), ...order.slice(i + 1), key];
}

/**
 * Which keys get a pull now: the first `free` keys in turn order that have no
 * pull open (`open`). One job per key per turn: a key served goes to the end
 * ({@linkcode served}), so a key with 10,000 waiting jobs takes one turn as a
 * key with 5 does. Pure.
 */
export function grantPulls(order: readonly string[], open: ReadonlySet<string>, free: number): string[] {
  const out: string[] = [];
  for (const k of order) {
    if (out.length >= free) break;
    if (!open.has(k)) out.push(k);
  }
  return out;
}

/**
 * How long a key's pull may wait (ms): long while every active key can have
 * one open (a slot that frees is filled at once, the server answering the open
 * pull), short when keys wait for a turn (a key at its limit gives its turn
 * back soon). Pure.
 */
export function keyPullExpiry(activeKeys: number, capacity: number): number {
  return activeKeys <= capacity ? 2_000 : 250;
}
