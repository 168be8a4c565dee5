/**
 * Parses the `qw` command line into data. Pure: never prints or exits; the
 * caller acts on the result. Config flags become {@linkcode QwOptions} (values
 * unvalidated, for `resolveConfig`); subcommand flags are validated here.
 */

import { parseArgs } from "node:util";
import type { QwOptions } from "../core/config.ts";
import {
  type Command,
  COMMAND_FLAGS,
  type CommandFlag,
  COMMANDS,
  type ConfigFlag,
  CONNECTION_FLAGS,
  GENERAL_FLAGS,
  helpText,
  TASK_FLAGS,
  WORKER_FLAGS,
} from "./help.ts";

export type { Command };

export type DlqAction = "ls" | "show" | "replay" | "purge";

/** Subcommand flags and arguments, validated; defaults where not given. */
export interface CommandFlags {
  /** inspect, dlq, events: print JSON instead of text. */
  json: boolean;
  /** enqueue: args parsed from `--json ARGS_JSON`; null means the positionals after the task. */
  args: unknown[] | null;
  /** enqueue: task id. */
  id: string | null;
  /** enqueue: seconds before the job may run. */
  countdown: number | null;
  /** enqueue: earliest run time, as an ISO 8601 string in UTC. */
  eta: string | null;
  /** enqueue: copies to enqueue. */
  count: number;
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
}

export interface CommandCli {
  kind: "command";
  command: Command;
  options: QwOptions;
  positionals: string[];
  printConfig: boolean;
  configFile: string | null;
  flags: CommandFlags;
}

export type ParsedCli =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "error"; message: string }
  | CommandCli;

type OptionSpec = { type: "string" | "boolean"; short?: string };
type Table = Record<string, OptionSpec>;
type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

const USAGE = "run 'qw --help' for usage";
const ATTEMPT: Record<Command, string> = {
  run: "start worker",
  enqueue: "enqueue job",
  result: "get result",
  inspect: "inspect",
  dlq: "manage dead letters",
  events: "follow events",
};

function configFlagsFor(command: Command): readonly ConfigFlag[] {
  return command === "run" ? [...CONNECTION_FLAGS, ...WORKER_FLAGS, ...TASK_FLAGS] : CONNECTION_FLAGS;
}

function tableFor(command: Command): Table {
  const table: Table = {};
  for (const f of configFlagsFor(command)) table[f.name] = { type: f.sets === undefined ? "string" : "boolean" };
  for (const f of [...COMMAND_FLAGS, ...GENERAL_FLAGS] as CommandFlag[]) {
    if (!f.commands.includes(command)) continue;
    table[f.name] = { type: f.arg ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) };
  }
  return table;
}

const TABLES = new Map(COMMANDS.map((c) => [c, tableFor(c)]));
/** Every flag of every command, to find the subcommand; `--json` counts as a boolean here. */
const ANY: Table = Object.assign({}, ...COMMANDS.map((c) => TABLES.get(c)));

/** Quotes a user-given string for a one-line message. */
function q(text: string): string {
  // deno-lint-ignore no-control-regex
  return `'${text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))}'`;
}

/**
 * A number with a minus sign, e.g. "-1", "-2.5" or "-.5". No flag starts with a
 * digit, so such an argument is a value: of the value flag before it, else a
 * positional (a JSON arg of `qw enqueue`, a job id).
 */
const NEGATIVE = /^-\.?\d/;

/** `parseArgs` with negative numbers taken as values; token values and positionals are those of `args`. */
function parse(args: string[], options: Table, strict: boolean): { tokens: Token[]; positionals: string[] } {
  // parseArgs takes "-1" for a short flag: hide it behind a placeholder, then put it back by index.
  const masked = args.map((a) => (NEGATIVE.test(a) ? "0" : a));
  const parsed = parseArgs({ args: masked, options, strict, allowPositionals: true, tokens: true });
  const tokens = (parsed.tokens ?? []).map((t): Token => {
    if (t.kind === "positional") return { ...t, value: args[t.index] };
    if (t.kind === "option" && t.value !== undefined && !t.inlineValue) return { ...t, value: args[t.index + 1] };
    return t;
  });
  const positionals = tokens.flatMap((t) => (t.kind === "positional" ? [t.value] : []));
  return { tokens, positionals };
}

function looseTokens(args: string[], options: Table): Token[] {
  return parse(args, options, false).tokens;
}

/** A one-line message for what strict parsing rejected. */
function diagnose(args: string[], command: Command, error: unknown): string {
  const options = TABLES.get(command)!;
  for (const t of looseTokens(args, options)) {
    if (t.kind !== "option") continue;
    if (!Object.hasOwn(options, t.name)) {
      return Object.hasOwn(ANY, t.name)
        ? `Option ${q(t.rawName)} is not valid for 'qw ${command}': ${USAGE}`
        : `Unknown option ${q(t.rawName)}: ${USAGE}`;
    }
    const expectsValue = options[t.name].type === "string";
    if (expectsValue && (t.value === undefined || (!t.inlineValue && t.value.startsWith("-") && !NEGATIVE.test(t.value)))) {
      return `Option ${q(t.rawName)} needs a value: ${USAGE}`;
    }
    if (!expectsValue && t.value !== undefined) return `Option ${q(t.rawName)} takes no value: ${USAGE}`;
  }
  const message = error instanceof Error ? error.message.split("\n")[0].replace(/\.$/, "") : String(error);
  return `${message}: ${USAGE}`;
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

/** Validates the subcommand flags and positionals into `flags`; returns an error message or null. */
function readCommand(
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
    case "run":
    case "inspect":
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
      const [action = "ls", seq] = positionals;
      if (!["ls", "show", "replay", "purge"].includes(action)) return `Unknown dlq action ${q(action)}: ${USAGE}`;
      flags.dlqAction = action as DlqAction;
      if (flags.all && action !== "replay") return `Option '--all' is only valid with 'qw dlq replay': ${USAGE}`;
      if (action === "show" || (action === "replay" && !flags.all)) {
        if (seq === undefined) return `Missing sequence number for 'qw dlq ${action}': ${USAGE}`;
        const n = numberFlag(attempt, "SEQ", seq, true, 1);
        if (typeof n === "string") return n;
        flags.seq = n;
        return extra(2);
      }
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
  for (const [name, int, min] of [["countdown", false, 0], ["count", true, 1]] as const) {
    const value = text(name);
    if (value === undefined) continue;
    const n = numberFlag(attempt, `--${name}`, value, int, min);
    if (typeof n === "string") return n;
    flags[name] = n;
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

/** Parses `argv` (without the runtime and script) into a command, help, version or error. */
export function parseCliArgs(argv: string[]): ParsedCli {
  const args = [...argv];
  const tokens = looseTokens(args, ANY);
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) return { kind: "help", text: helpText() };
  if (tokens.some((t) => t.kind === "option" && t.name === "version")) return { kind: "version" };
  let command: Command = "run";
  let unknown: string | undefined;
  const first = tokens.find((t) => t.kind === "positional");
  if (first !== undefined && first.kind === "positional") {
    if (first.value === "help") return { kind: "help", text: helpText() };
    if ((COMMANDS as readonly string[]).includes(first.value)) {
      command = first.value as Command;
      args.splice(first.index, 1);
    } else {
      unknown = first.value;
    }
  }

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args, TABLES.get(command)!, true);
  } catch (error) {
    // A bad flag may have made its neighbour look like the command: report the flag.
    return { kind: "error", message: diagnose(args, command, error) };
  }
  if (unknown !== undefined) return { kind: "error", message: `Unknown command ${q(unknown)}: ${USAGE}` };

  const configFlags = new Map(configFlagsFor(command).map((f) => [f.name, f]));
  const options: Record<string, unknown> = {};
  const servers: string[] = [];
  const raw = new Map<string, string | true>();
  const headers: string[] = [];
  for (const t of parsed.tokens) {
    if (t.kind !== "option") continue;
    const flag = configFlags.get(t.name);
    if (flag?.key === "server") servers.push(t.value as string);
    else if (flag !== undefined) options[flag.key] = flag.sets ?? t.value;
    else if (t.name === "header") headers.push(t.value as string);
    else raw.set(t.name, t.value ?? true);
  }
  if (servers.length > 0) options.server = servers.length === 1 ? servers[0] : servers;

  const positionals = [...parsed.positionals];
  const flags: CommandFlags = {
    json: false,
    args: null,
    id: null,
    countdown: null,
    eta: null,
    count: 1,
    headers: [],
    wait: null,
    dlqAction: null,
    seq: null,
    all: false,
  };
  const configFile = raw.get("config") as string | undefined;
  if (configFile !== undefined && configFile.trim() === "") {
    return { kind: "error", message: `Cannot ${ATTEMPT[command]} as '--config' must be a file path: current value is ""` };
  }
  const error = readCommand(command, raw, headers, positionals, flags);
  if (error !== null) return { kind: "error", message: error };
  return {
    kind: "command",
    command,
    options: options as QwOptions,
    positionals,
    printConfig: raw.has("print-config"),
    configFile: configFile ?? null,
    flags,
  };
}
