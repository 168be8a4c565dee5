/**
 * Parses the `qw` command line into data. Pure: never prints or exits; the
 * caller acts on the result. Config flags become {@linkcode QwOptions} (values
 * unvalidated, for `resolveConfig`); subcommand flags are validated in
 * _command_flags.ts.
 */

import { parseArgs } from "node:util";
import type { QwOptions } from "../core/config/config.ts";
import {
  type Command,
  COMMAND_FLAGS,
  type CommandFlag,
  COMMANDS,
  type ConfigFlag,
  CONNECTION_FLAGS,
  GENERAL_FLAGS,
  helpText,
  INIT_FLAGS,
  TASK_FLAGS,
  WORKER_FLAGS,
} from "./help.ts";
import { ATTEMPT, type CommandFlags, type DlqAction, q, readCommand, USAGE } from "./_command_flags.ts";

export type { Command };

export type { CommandFlags, DlqAction };

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

function configFlagsFor(command: Command): readonly ConfigFlag[] {
  if (command === "run") return [...CONNECTION_FLAGS, ...WORKER_FLAGS, ...TASK_FLAGS];
  return command === "init" ? [...CONNECTION_FLAGS, ...INIT_FLAGS] : CONNECTION_FLAGS;
}

function tableFor(command: Command): Table {
  const table: Table = {};
  for (const f of configFlagsFor(command)) {
    table[f.name] = { type: f.sets === undefined ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) };
  }
  for (const f of [...COMMAND_FLAGS, ...GENERAL_FLAGS] as CommandFlag[]) {
    if (!f.commands.includes(command)) continue;
    table[f.name] = { type: f.arg ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) };
  }
  return table;
}

const TABLES = new Map(COMMANDS.map((c) => [c, tableFor(c)]));
/** Every flag of every command, to find the subcommand; `--json` counts as a boolean here. */
const ANY: Table = Object.assign({}, ...COMMANDS.map((c) => TABLES.get(c)));

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
    expires: null,
    unique: null,
    concurrencyKey: null,
    debounce: null,
    count: 1,
    priority: null,
    headers: [],
    wait: null,
    dlqAction: null,
    seq: null,
    all: false,
    workers: false,
    jobs: null,
    idPrefix: null,
    terminate: false,
    ttl: null,
    yes: false,
    http: null,
    httpToken: null,
    task: null,
    until: null,
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
