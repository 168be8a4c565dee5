/**
 * Run the `qw` command as a real process: the compiled binary (dist/qw, built
 * by `make build`) or from source under Bun or Deno. Same in both test runtimes.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
/** The compiled binary. */
export const QW_BIN = resolve(ROOT, "dist/qw");

/** How to run qw. */
export type QwFlavor = "dist" | "bun" | "deno";

function command(flavor: QwFlavor, args: string[]): [string, string[]] {
  switch (flavor) {
    case "dist":
      if (!existsSync(QW_BIN)) throw new Error(`dist/qw is missing: run 'make build' first`);
      return [QW_BIN, args];
    case "bun":
      return [resolve(ROOT, "node_modules/.bin/bun"), [resolve(ROOT, "cli.ts"), ...args]];
    case "deno":
      return [resolve(ROOT, "node_modules/.bin/deno"), ["run", "-A", "--config", resolve(ROOT, "deno.json"), resolve(ROOT, "cli.ts"), ...args]];
  }
}

/** Options of a qw run. */
export interface RunOptions {
  flavor?: QwFlavor;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Run qw to completion. */
export function runQw(args: string[], o: RunOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnQw(args, o);
  return new Promise((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`qw ${args.join(" ")} did not exit within ${o.timeoutMs ?? 30_000}ms; stderr: ${stderr}`));
    }, o.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

// Every qw a test started and left running is killed when the test run ends,
// so a test that fails before its own clean-up leaves no worker behind.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Start qw and leave it running; collect its output. */
export function spawnQw(args: string[], o: RunOptions = {}): ChildProcess & { output(): string } {
  const [cmd, argv] = command(o.flavor ?? "dist", args);
  const child = spawn(cmd, argv, {
    cwd: o.cwd ?? ROOT,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  running.add(child);
  child.on("exit", () => running.delete(child));
  return Object.assign(child, { output: () => out });
}

/** True when a process's output contains a stack trace. */
export const hasStackTrace = (s: string): boolean => /^\s+at .+[:(]\d+/m.test(s) || /\n\s*\^\s*\n/.test(s);
