/**
 * The `qw` command. Parses arguments, resolves the config, attaches the
 * logger to events and runs the command. SIGINT/SIGTERM close the worker
 * gracefully; a second signal skips the grace period. The only place that
 * exits, and it never prints a stack trace for bad input.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { parseCliArgs } from "./src/cli/args.ts";
import type { Command, CommandCli } from "./src/cli/args.ts";
import { maskSecrets, type QwOptions, resolveConfig, type ResolvedConfig, type WorkerConfig } from "./src/core/config.ts";
import { errorText } from "./src/client/connection.ts";
import { Emitter, type QwEvent } from "./src/core/events.ts";
import { setupLogging } from "./src/cli/log.ts";
import * as rt from "./src/core/runtime.ts";
import { startService } from "./src/worker/service.ts";
import type { CommandContext } from "./src/cli/context.ts";

/** The version `qw --version` prints. */
export { VERSION } from "./src/core/version.ts";
import { VERSION } from "./src/core/version.ts";

type Runner = (ctx: CommandContext) => Promise<number>;
const RUNNERS: Record<Exclude<Command, "run">, () => Promise<Runner>> = {
  enqueue: async () => (await import("./src/cli/cmd_enqueue.ts")).runEnqueue,
  result: async () => (await import("./src/cli/cmd_result.ts")).runResult,
  inspect: async () => (await import("./src/cli/cmd_inspect.ts")).runInspect,
  dlq: async () => (await import("./src/cli/cmd_dlq.ts")).runDlq,
  events: async () => (await import("./src/cli/cmd_events.ts")).runEvents,
  revoke: async () => (await import("./src/cli/cmd_revoke.ts")).runRevoke,
  dashboard: async () => (await import("./src/cli/cmd_dashboard.ts")).runDashboard,
};

/** Run the CLI with these arguments; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  switch (parsed.kind) {
    case "help":
      rt.writeStdout(parsed.text.endsWith("\n") ? parsed.text : parsed.text + "\n");
      return 0;
    case "version":
      rt.writeStdout(`qw ${VERSION} (${rt.runtimeName} ${rt.runtimeVersion()})\n`);
      return 0;
    case "error":
      return fail(parsed.message, 2);
    case "command":
      break;
  }
  let config: ResolvedConfig;
  try {
    config = resolve(parsed);
  } catch (e) {
    return fail(errorText(e), 2);
  }
  if (parsed.printConfig) {
    rt.writeStdout(JSON.stringify(maskSecrets(config), null, 2) + "\n");
    return 0;
  }
  const log = await setupLogging({ level: config.logLevel, format: config.logFormat, write: rt.writeStderr });
  try {
    if (parsed.command === "run") return await runWorker(config as WorkerConfig, log.listener);
    const runner = await RUNNERS[parsed.command]();
    const events = new Emitter();
    events.on(log.listener);
    return await runner({ cli: parsed, config, events, out: rt.writeStdout, err: rt.writeStderr, isTTY: rt.stdoutIsTTY() });
  } catch (e) {
    log.flush();
    return fail(errorText(e), 1);
  } finally {
    log.flush();
  }
}

function resolve(parsed: CommandCli): ResolvedConfig {
  let fileValues: QwOptions | undefined;
  if (parsed.configFile !== null) {
    let text: string;
    try {
      text = readFileSync(parsed.configFile, "utf8");
    } catch (e) {
      throw new Error(`Cannot read config file '${parsed.configFile}': ${errorText(e)}`);
    }
    try {
      fileValues = JSON.parse(text);
    } catch (e) {
      throw new Error(`Cannot parse config file '${parsed.configFile}' as JSON: ${errorText(e)}`);
    }
  }
  return resolveConfig(parsed.options, {
    env: rt.env(),
    fileValues,
    cpuCount: rt.cpuCount(),
    hostname: rt.hostname(),
    pid: rt.pid(),
    purpose: parsed.command === "run" ? "worker" : "client",
  });
}

async function runWorker(config: WorkerConfig, listener: (e: QwEvent) => void): Promise<number> {
  const events = new Emitter();
  events.on(listener);
  let signals = 0;
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  let stopRequested: string | null = null;
  const onSignal = (name: string) => () => {
    signals++;
    if (signals === 1) {
      stopRequested = name;
      void service?.close(`received ${name}`);
    } else {
      // A second signal skips the grace period.
      void service?.close(`received ${name} again: skipping the grace period`, { graceSeconds: 0 });
    }
  };
  // The handlers stay until the process exits: a late signal must not kill it by default action.
  rt.onSignal("SIGINT", onSignal("SIGINT"));
  rt.onSignal("SIGTERM", onSignal("SIGTERM"));
  service = await startService(config, { events });
  if (stopRequested) void service.close(`received ${stopRequested}`);
  await service.closed;
  return service.fatal === null ? 0 : fail(service.fatal, 1);
}

function fail(message: string, code: number): number {
  rt.writeStderr(`qw: ${message}\n`);
  return code;
}

if (import.meta.main) {
  const code = await main(rt.args()).catch((e) => fail(errorText(e), 1));
  rt.exit(code);
}
