/**
 * The subcommand flags and positionals of `qw` (enqueue, result, dlq...),
 * validated into {@linkcode CommandFlags}, and the one-line messages args.ts
 * shares with them. Private to args.ts. Pure like the parser: errors come back
 * as messages, never thrown or printed.
 *
 * @module
 */

import { jobStateProblem } from "../ops/jobs/job_rows.ts";
import type { Command } from "./help.ts";

export type DlqAction = "ls" | "show" | "replay" | "purge";

/** Subcommand flags and arguments, validated; defaults where not given. */
export interface CommandFlags {
  /** inspect, dlq, events, schedule: print JSON instead of text. */
  json: boolean;
  /** enqueue: args parsed from `--json ARGS_JSON`; null means the positionals after the task. */
  args: unknown[] | null;
  /** enqueue: task id. */
  id: string | null;
  /** enqueue: seconds before the job may run. */
  countdown: number | null;
  /** enqueue: earliest run time, as an ISO 8601 string in UTC. */
  eta: string | null;
  /** enqueue: never start after this: seconds from now (a number), or an ISO 8601 time in UTC (a string). */
  expires: number | string | null;
  /** enqueue: the unique key (README "Unique jobs and debounce"). */
  unique: string | null;
  /** enqueue: the concurrency key (README "Per-key concurrency"). */
  concurrencyKey: string | null;
  /** enqueue: seconds of debounce, with --unique. */
  debounce: number | null;
  /** enqueue: copies to enqueue. */
  count: number;
  /** enqueue: 0 (lowest) to 9; null: the default. */
  priority: number | null;
  /** enqueue: message headers in order given. */
  headers: [string, string][];
  /** result: seconds to wait for a final state; null means do not wait. */
  wait: number | null;
  /** dlq: the action; "ls" when none is given. */
  dlqAction: DlqAction | null;
  /** dlq show/replay: the stream sequence of the dead letter. */
  seq: number | null;
  /** dlq replay: every dead letter. */
  all: boolean;
  /** inspect: only the workers. */
  workers: boolean;
  /** inspect: print this job list (running, failed, waiting, delayed, revoked, expired); null means none. */
  jobs: string | null;
  /** inspect --jobs: only ids starting with this. */
  idPrefix: string | null;
  /** revoke: also terminate a running job's Web Worker. */
  terminate: boolean;
  /** revoke: seconds the revoke lives on 2.11+; null means qw's choice (README "Control"). */
  ttl: number | null;
  /** dlq purge: purge without asking. */
  yes: boolean;
  /** dashboard: "host:port" to serve on; null means the default. */
  http: string | null;
  /** dashboard: the token API requests must carry; null means QW_HTTP_TOKEN or none. */
  httpToken: string | null;
  /** pause, resume: one task; null means the whole stream. */
  task: string | null;
  /** pause: `--until` as given (read against the clock by the command); null means until resumed. */
  until: string | null;
}

export const USAGE = "run 'qw --help' for usage";
export const ATTEMPT: Record<Command, string> = {
  run: "start worker",
  init: "set up stream",
  enqueue: "enqueue job",
  result: "get result",
  inspect: "inspect",
  dlq: "manage dead letters",
  events: "follow events",
  revoke: "revoke job",
  schedule: "list schedules",
  dashboard: "serve dashboard",
  pause: "pause",
  resume: "resume",
};

/** Quotes a user-given string for a one-line message. */
export function q(text: string): string {
  // deno-lint-ignore no-control-regex
  return `'${text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))}'`;
}

function show(text: string): string {
  return JSON.stringify(text);
}

/** Parses a number flag; returns an error message or the number. */
function numberFlag(attempt: string, name: string, text: string, int: boolean, min: number): number | string {
  const n = text.trim() === "" ? NaN : Number(text);
  if (Number.isFinite(n) && n >= min && (!int || Number.isInteger(n))) return n;
  return `Cannot ${attempt} as ${q(name)} must be ${int ? "an integer" : "a number"} >= ${min}: current value is ${show(text)}`;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i;
const HEADER_KEY = /^[!-9;-~]+$/;
// One subject token.
const TASK_NAME = /^[^\s.*>]+$/;

/** Validates the subcommand flags and positionals into `flags`; returns an error message or null. */
export function readCommand(
  command: Command,
  raw: Map<string, string | true>,
  headers: string[],
  positionals: string[],
  flags: CommandFlags,
): string | null {
  const attempt = ATTEMPT[command];
  const text = (name: string) => raw.get(name) as string | undefined;
  const extra = (from: number) =>
    positionals.length > from ? `Unexpected argument ${q(positionals[from])} for 'qw ${command}': ${USAGE}` : null;
  switch (command) {
    case "revoke":
      flags.terminate = raw.has("terminate");
      if (text("ttl") !== undefined) {
        const n = numberFlag(attempt, "--ttl", text("ttl")!, false, 1);
        if (typeof n === "string") return n;
        flags.ttl = n;
      }
      return positionals.length === 0 ? `Missing job id for 'qw revoke': ${USAGE}` : null;
    case "inspect": {
      flags.workers = raw.has("workers");
      flags.json = raw.has("json");
      flags.jobs = text("jobs") ?? null;
      if (flags.jobs !== null && jobStateProblem(flags.jobs) !== null) return jobStateProblem(flags.jobs);
      flags.task = text("task") ?? null;
      flags.idPrefix = text("id-prefix") ?? null;
      if ((flags.task !== null || flags.idPrefix !== null) && flags.jobs === null) {
        return `Cannot ${attempt} as '--task' and '--id-prefix' filter a job list: add --jobs STATE`;
      }
      return extra(0);
    }
    case "dashboard":
      flags.http = text("http") ?? null;
      flags.httpToken = text("http-token") ?? null;
      if (flags.httpToken !== null && flags.httpToken.trim() === "") {
        return `Cannot ${attempt} as '--http-token' must be a non-empty string: current value is ""`;
      }
      return extra(0);
    case "pause":
    case "resume": {
      const task = text("task");
      if (task !== undefined && !TASK_NAME.test(task)) {
        return `Cannot ${attempt} as '--task' must be a task name (one subject token: no spaces, dots, '*' or '>'): current value is ${show(task)}`;
      }
      flags.task = task ?? null;
      const until = text("until");
      if (until !== undefined && until.trim() === "") return `Cannot ${attempt} as '--until' must be a date: current value is ""`;
      flags.until = until ?? null;
      return extra(0);
    }
    case "run":
    case "init":
    case "events":
      flags.json = raw.has("json");
      return extra(0);
    case "result": {
      if (positionals.length === 0) return `Missing job id for 'qw result': ${USAGE}`;
      const wait = text("wait");
      if (wait !== undefined) {
        const n = numberFlag(attempt, "--wait", wait, false, 0);
        if (typeof n === "string") return n;
        flags.wait = n;
      }
      return extra(1);
    }
    case "dlq": {
      flags.json = raw.has("json");
      flags.all = raw.has("all");
      flags.yes = raw.has("yes");
      const [action = "ls", seq] = positionals;
      if (!["ls", "show", "replay", "purge"].includes(action)) return `Unknown dlq action ${q(action)}: ${USAGE}`;
      flags.dlqAction = action as DlqAction;
      if (flags.all && action !== "replay") return `Option '--all' is only valid with 'qw dlq replay': ${USAGE}`;
      if (flags.yes && action !== "purge") return `Option '--yes' is only valid with 'qw dlq purge': ${USAGE}`;
      if (action === "show" || (action === "replay" && !flags.all)) {
        if (seq === undefined) return `Missing sequence number for 'qw dlq ${action}': ${USAGE}`;
        const n = numberFlag(attempt, "SEQ", seq, true, 1);
        if (typeof n === "string") return n;
        flags.seq = n;
        return extra(2);
      }
      return extra(1);
    }
    case "schedule": {
      flags.json = raw.has("json");
      const [action = "ls"] = positionals;
      if (action !== "ls") return `Unknown schedule action ${q(action)}: ${USAGE}`;
      return extra(1);
    }
    case "enqueue":
      return readEnqueue(attempt, text, headers, positionals, flags);
  }
}

function readEnqueue(
  attempt: string,
  text: (name: string) => string | undefined,
  headers: string[],
  positionals: string[],
  flags: CommandFlags,
): string | null {
  if (positionals.length === 0) return `Missing task name for 'qw enqueue': ${USAGE}`;
  const json = text("json");
  if (json !== undefined) {
    let args: unknown;
    try {
      args = JSON.parse(json);
    } catch {
      args = undefined;
    }
    if (!Array.isArray(args)) return `Cannot ${attempt} as '--json' must be a JSON array of args: current value is ${show(json)}`;
    if (positionals.length > 1) return `Cannot ${attempt} with both '--json' and args after the task name: ${USAGE}`;
    flags.args = args;
  }
  const id = text("id");
  if (id !== undefined) {
    if (id.trim() === "") return `Cannot ${attempt} as '--id' must be a non-empty string: current value is ${show(id)}`;
    flags.id = id;
  }
  const unique = text("unique");
  if (unique !== undefined) {
    if (unique.trim() === "") return `Cannot ${attempt} as '--unique' must be a non-empty string: current value is ${show(unique)}`;
    flags.unique = unique;
  }
  const key = text("concurrency-key");
  if (key !== undefined) {
    if (key.trim() === "") return `Cannot ${attempt} as '--concurrency-key' must be a non-empty string: current value is ${show(key)}`;
    flags.concurrencyKey = key;
  }
  for (const [name, int, min] of [["countdown", false, 0], ["count", true, 1], ["debounce", false, 0]] as const) {
    const value = text(name);
    if (value === undefined) continue;
    const n = numberFlag(attempt, `--${name}`, value, int, min);
    if (typeof n === "string") return n;
    flags[name] = n;
  }
  if (flags.debounce !== null && !(flags.debounce > 0)) return `Cannot ${attempt} as '--debounce' must be seconds > 0: current value is ${show(String(flags.debounce))}`;
  if (flags.debounce !== null && flags.unique === null) return `Cannot ${attempt} with '--debounce' but no '--unique KEY': ${USAGE}`;
  if (flags.unique !== null && flags.count > 1) return `Cannot ${attempt} with both '--unique' and '--count': ${USAGE}`;
  const priority = text("priority");
  if (priority !== undefined) {
    if (!/^\d$/.test(priority.trim())) return `Cannot ${attempt} as '--priority' must be a whole number from 0 to 9: current value is ${show(priority)}`;
    flags.priority = Number(priority.trim());
  }
  const eta = text("eta");
  if (eta !== undefined) {
    const time = ISO_DATE.test(eta.trim()) ? Date.parse(eta.trim()) : NaN;
    if (Number.isNaN(time)) {
      return `Cannot ${attempt} as '--eta' must be an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is ${show(eta)}`;
    }
    if (flags.countdown !== null) return `Cannot ${attempt} with both '--countdown' and '--eta': ${USAGE}`;
    flags.eta = new Date(time).toISOString();
  }
  const expires = text("expires");
  if (expires !== undefined) {
    const t = expires.trim();
    const seconds = /^\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
    const time = ISO_DATE.test(t) ? Date.parse(t) : NaN;
    if (!(seconds > 0) && Number.isNaN(time)) {
      return `Cannot ${attempt} as '--expires' must be seconds > 0 or an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is ${show(expires)}`;
    }
    flags.expires = seconds > 0 ? seconds : new Date(time).toISOString();
  }
  for (const header of headers) {
    const eq = header.indexOf("=");
    const key = header.slice(0, eq);
    const value = header.slice(eq + 1);
    if (eq < 1 || !HEADER_KEY.test(key) || /[\r\n]/.test(value)) {
      return `Cannot ${attempt} as '--header' must be KEY=VALUE with a key of printable ASCII without ':': current value is ${show(header)}`;
    }
    flags.headers.push([key, value]);
  }
  return null;
}
