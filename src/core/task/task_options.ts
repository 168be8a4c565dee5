/**
 * Every task option qw knows and what its value must be: the one list. A tasks
 * file's options are checked against it when the file loads, so a typo such as
 * `acksLAte` stops qw instead of silently running with the default; the task
 * defaults from flags, the environment and `--config` are read with the same
 * rules. Adding an option is one line here (and its type in types.ts). Pure.
 *
 * @module
 */

import type { TaskOptions } from "../types.ts";
import { isPriority } from "../job/priority.ts";
import {
  backoffRule,
  booleanRule,
  type Checked,
  numberRule,
  rateLimitRule,
  show,
  type ValueRule,
} from "../config/value_rules.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const matchersRule: ValueRule = (value) =>
  Array.isArray(value) && value.every((m) => (typeof m === "string" && m !== "") || typeof m === "function")
    ? { ok: true, value }
    : { ok: false, must: "a list of error classes or error names", range: false };

const scheduleRule: ValueRule = (value) =>
  isObject(value) || (Array.isArray(value) && value.every(isObject))
    ? { ok: true, value }
    : { ok: false, must: "a schedule ({ every } or { cron }) or a list of schedules", range: false };

const batchRule: ValueRule = (value) => {
  if (value === null) return { ok: true, value };
  const b = value as { size?: unknown; wait?: unknown };
  const size = isObject(value) && Number.isInteger(b.size) && (b.size as number) >= 1;
  const wait = isObject(value) && (b.wait === undefined || (typeof b.wait === "number" && Number.isFinite(b.wait) && b.wait >= 0));
  const known = isObject(value) && Object.keys(value).every((k) => k === "size" || k === "wait");
  return size && wait && known
    ? { ok: true, value }
    : { ok: false, must: "{ size, wait } with a whole size >= 1 and a wait in seconds >= 0", range: isObject(value) && known };
};

const priorityRule: ValueRule = (value) =>
  isPriority(value) ? { ok: true, value } : { ok: false, must: "a whole number from 0 to 9", range: typeof value === "number" };
const concurrencyRule: ValueRule = (value) =>
  value === null || (isObject(value) && Object.keys(value).every((k) => k === "limit" || k === "key") &&
      Number.isInteger(value.limit) && (value.limit as number) >= 1 && (value.limit as number) <= 10_000 &&
      (value.key === undefined || typeof value.key === "function"))
    ? { ok: true, value }
    : { ok: false, must: "null or { limit, key? } with an integer limit from 1 to 10000 and a function key", range: false };

/** The rule of every task option. */
export const TASK_OPTION_RULES: { readonly [K in keyof TaskOptions]-?: ValueRule } = Object.freeze({
  acksLate: booleanRule,
  rejectOnWorkerLost: booleanRule,
  acksOnFailureOrTimeout: booleanRule,
  confirmAck: booleanRule,
  autoretryFor: matchersRule,
  dontAutoretryFor: matchersRule,
  maxRetries: numberRule({ int: true, min: 0, nullable: true }),
  defaultRetryDelay: numberRule({ min: 0 }),
  retryBackoff: backoffRule,
  retryBackoffMax: numberRule({ min: 0, exclusive: true }),
  retryJitter: booleanRule,
  timeLimit: numberRule({ min: 0, exclusive: true, nullable: true }),
  softTimeLimit: numberRule({ min: 0, exclusive: true, nullable: true }),
  rateLimit: rateLimitRule,
  rateLimitScope: (value) =>
    value === "process" || value === "stream"
      ? { ok: true, value }
      : { ok: false, must: `"process" or "stream"`, range: typeof value === "string" },
  trackStarted: booleanRule,
  ignoreResult: booleanRule,
  expires: numberRule({ min: 0, exclusive: true, nullable: true }),
  bind: booleanRule,
  schedule: scheduleRule,
  priority: priorityRule,
  batch: batchRule,
  concurrency: concurrencyRule,
});

/** Options that belong to one task only; every other one is also a worker-wide default. */
const TASK_ONLY = ["autoretryFor", "dontAutoretryFor", "bind", "schedule", "expires", "priority", "rateLimitScope", "batch", "concurrency"] as const;

/** The name of a task option that flags, the environment and `--config` may set for all tasks. */
export type TaskDefaultKey = Exclude<keyof TaskOptions, typeof TASK_ONLY[number]>;

/** The task options that have a worker-wide default, in the order of {@linkcode TASK_OPTION_RULES}. */
export const TASK_DEFAULT_KEYS: readonly TaskDefaultKey[] = Object.freeze(
  (Object.keys(TASK_OPTION_RULES) as (keyof TaskOptions)[]).filter((k): k is TaskDefaultKey =>
    !(TASK_ONLY as readonly string[]).includes(k)
  ),
);

/** The keys a schedule may have. */
const SCHEDULE_KEYS = ["every", "cron", "tz", "args", "catchUp"] as const;

/** The edit distance of two names (insert, delete, replace). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** The known name a mistyped one most likely meant: the same but for case, else the closest within a third of its length. */
export function nearestName(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

// deno-lint-ignore no-control-regex
const quote = (name: string): string => `'${name.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1))}'`;

/** The value at a path of {@linkcode nonDataPath} below `value` (".a[0].b"). */
function valueAt(value: unknown, path: string): unknown {
  for (const [, key, index] of path.matchAll(/\.([^.[]+)|\[(\d+)\]/g)) value = (value as Record<string, unknown>)[key ?? index];
  return value;
}

function unknownKey(where: string, key: string, known: readonly string[]): TypeError {
  const near = nearestName(key, known);
  return new TypeError(`${where} has an unknown option ${quote(key)}${near === null ? "" : ` (did you mean '${near}'?)`}`);
}

function failed(c: Extract<Checked, { ok: false }>, where: string, value: unknown): Error {
  const Kind = c.range ? RangeError : TypeError;
  return new Kind(`${where} must be ${c.must}: current value is ${show(value)}`);
}

/**
 * Where in `value` the first thing is that cannot cross to the host as data (a
 * function or a symbol), as a path such as `schedule.args[0]`; null when there
 * is none. Pure.
 */
export function nonDataPath(value: unknown, path = "", seen: Set<object> = new Set()): string | null {
  if (typeof value === "function" || typeof value === "symbol") return path;
  if (typeof value !== "object" || value === null || seen.has(value)) return null;
  seen.add(value);
  for (const [k, v] of Object.entries(value)) {
    const found = nonDataPath(v, Array.isArray(value) ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`, seen);
    if (found !== null) return found;
  }
  return null;
}

/** Options whose values are error classes: reduced to names before they cross to the host. */
const MATCHERS: ReadonlySet<string> = new Set(["autoretryFor", "dontAutoretryFor"]);

/**
 * Checks the options a tasks file gave one task. Throws a one-line `TypeError`
 * (unknown option, with the nearest known name, or wrong type) or `RangeError`
 * (out of range) that starts with `task '<name>'`, for the caller to say where.
 */
export function checkTaskOptions(task: string, options: unknown): void {
  const where = `task ${quote(task)}`;
  if (!isObject(options)) {
    throw new TypeError(`${where} options must be an object: current value is ${show(options)}`);
  }
  const known = Object.keys(TASK_OPTION_RULES);
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(TASK_OPTION_RULES, key)) throw unknownKey(where, key, known);
    if (value === undefined) continue;
    const c = TASK_OPTION_RULES[key as keyof TaskOptions](value, false);
    if (!c.ok) throw failed(c, `${where} option '${key}'`, value);
    // A concurrency key function stays in the Web Worker (worker/keys/key_functions.ts): the host sees a flag.
    const part = MATCHERS.has(key) ? null : nonDataPath(key === "concurrency" ? { ...value as object, key: null } : value, key);
    if (part !== null) {
      throw new TypeError(`${where} option ${quote(part)} must be data that can be sent to the host: current value is ${show(valueAt(value, part.slice(key.length)))}`);
    }
  }
  const schedule = (options as TaskOptions).schedule;
  const list: unknown[] = schedule === undefined ? [] : Array.isArray(schedule) ? schedule : [schedule];
  list.forEach((s, i) => {
    for (const key of Object.keys(s as object)) {
      if (!(SCHEDULE_KEYS as readonly string[]).includes(key)) {
        throw unknownKey(`${where} schedule${list.length > 1 ? ` ${i}` : ""}`, key, SCHEDULE_KEYS);
      }
    }
  });
}
