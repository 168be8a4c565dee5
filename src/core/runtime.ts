/**
 * The one seam between qw and the runtime. Only this file touches `Bun`,
 * `Deno` or `process`; everything else uses Web APIs and `node:` modules both
 * runtimes ship. No qw logic.
 *
 * @module
 */

import os from "node:os";
import { createInterface } from "node:readline";

declare const Bun:
  | {
    version: string;
    plugin(p: { name: string; setup(b: { module(id: string, f: () => { exports: Record<string, unknown>; loader: "object" }): void }): void }): void;
  }
  | undefined;
declare const Deno: { version: { deno: string } } | undefined;
declare const process: {
  env: Record<string, string | undefined>;
  argv: string[];
  pid: number;
  exit(code?: number): never;
  on(sig: string, fn: () => void): void;
  off(sig: string, fn: () => void): void;
  memoryUsage(): { rss: number };
  execPath: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: { write(s: string): boolean; isTTY?: boolean };
  stderr: { write(s: string): boolean; isTTY?: boolean };
};

/** Which runtime runs qw. */
export const runtimeName: "bun" | "deno" | "node" = typeof Bun !== "undefined"
  ? "bun"
  : typeof Deno !== "undefined"
  ? "deno"
  : "node";

/** The runtime's version, for `--version`. */
export const runtimeVersion = (): string =>
  runtimeName === "bun" ? Bun!.version : runtimeName === "deno" ? Deno!.version.deno : "unknown";

/** Environment variables as a plain object. */
export const env = (): Record<string, string | undefined> => ({ ...process.env });

/** Command-line arguments after the program (and script) name. */
export function args(): string[] {
  const argv = process.argv;
  // `bun cli.ts x` and `deno run cli.ts x` give [runtime, script, ...]; a compiled
  // binary gives [binary, "/$bunfs/root/...", ...] under Bun.
  return argv.slice(2);
}

/** End the process. Only cli.ts calls this. */
export const exit = (code: number): never => process.exit(code);

/** Listen for a signal; returns a function that stops listening. */
export function onSignal(signal: "SIGINT" | "SIGTERM", fn: () => void): () => void {
  process.on(signal, fn);
  return () => process.off(signal, fn);
}

/** CPUs available to this process. */
export const cpuCount = (): number => Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
/** This host's name. */
export const hostname = (): string => os.hostname();
/** This process's id. */
export const pid = (): number => process.pid;
/** Resident set size in bytes. */
export const rss = (): number => process.memoryUsage().rss;
/** Write to standard output without a newline being added. */
export const writeStdout = (s: string): void => void process.stdout.write(s);
/** Write to standard error. */
export const writeStderr = (s: string): void => void process.stderr.write(s);
/** True when standard output is a terminal. */
export const stdoutIsTTY = (): boolean => process.stdout.isTTY === true;
/** True when standard input is a terminal. */
export const stdinIsTTY = (): boolean => process.stdin.isTTY === true;

/** Ask a question on standard error and read one line of standard input; null when input ends first. */
export function askLine(question: string): Promise<string | null> {
  const rl = createInterface({ input: process.stdin, output: process.stderr as unknown as NodeJS.WritableStream });
  return new Promise<string | null>((resolve) => {
    rl.on("close", () => resolve(null));
    rl.question(question, (answer) => {
      resolve(answer);
      rl.close();
    });
  });
}

/** Spawn the Web Worker that runs tasks. The entry's URL must be a literal for `bun build --compile`. */
export function createTaskWorker(name: string): Worker {
  // In a `bun build --compile` binary every module is bundled into the entry
  // (cli.ts at the root), so the embedded worker entry is relative to that.
  const compiled = import.meta.url.includes("/$bunfs/") || import.meta.url.includes("/~BUN/");
  const url = compiled
    ? new URL("./src/worker/pool/worker_entry.ts", import.meta.url).href
    : new URL("../worker/pool/worker_entry.ts", import.meta.url).href;
  // Deno needs type "module"; Bun accepts it. Bun keeps the process alive for
  // a Worker unless unref'd, which close() handles by terminating.
  return new Worker(url, { type: "module", name } as WorkerOptions);
}

/** The names a tasks file may import the task API by: the runtime module, and the npm package's that editors know. */
export const TASK_API_MODULES: readonly string[] = Object.freeze(["qw", "@qwjobs/qw/tasks"]);

/**
 * Inside a Web Worker: make `import ... from "qw"` (or "@qwjobs/qw/tasks")
 * resolve to the task API with nothing installed. Bun: a runtime plugin (works
 * in compiled binaries). Deno: resolution comes from the import map in
 * deno.json instead.
 */
export function registerQwModule(exports: Record<string, unknown>): void {
  if (typeof Bun === "undefined") return;
  Bun.plugin({
    name: "qw",
    setup(build) {
      for (const name of TASK_API_MODULES) build.module(name, () => ({ exports, loader: "object" }));
    },
  });
}

/** Whether terminating a Web Worker stuck in a busy loop really stops its thread (Deno 2.9 does not: denoland/deno PR 35657). */
export const terminatesBusyWorkers: boolean = runtimeName !== "deno";
