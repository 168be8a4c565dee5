/**
 * What every `qw` subcommand receives from cli.ts: the parsed command line,
 * the resolved config, an event emitter wired to the logger and output
 * functions. Subcommands return their exit code and never exit themselves.
 *
 * @module
 */

import type { CommandCli } from "./args.ts";
import type { ResolvedConfig } from "../core/config/config.ts";
import type { Emitter } from "../core/events.ts";

/** The context of one subcommand run. */
export interface CommandContext {
  cli: CommandCli;
  config: ResolvedConfig;
  events: Emitter;
  /** Write to standard output (no newline added). */
  out(s: string): void;
  /** Write to standard error (no newline added). */
  err(s: string): void;
  /** Standard output is a terminal: tables and progress bars are allowed. */
  isTTY: boolean;
  /** Standard input is a terminal: a question can be asked. */
  stdinIsTTY: boolean;
  /** Ask on the terminal and resolve to the answer, or null when stdin closed first. */
  ask(question: string): Promise<string | null>;
}
