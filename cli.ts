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
import { configFile, type QwOptions, resolveConfig, type ResolvedConfig, type WorkerConfig } from "./src/core/config/config.ts";
import { ATTEMPT } from "./src/cli/_command_flags.ts";
import { errorText } from "./src/client/connection.ts";
import { Emitter, type QwEvent } from "./src/core/events.ts";
import { setupLogging } from "./src/cli/log.ts";
import * as rt from "./src/core/runtime.ts";
import { startService } from "./src/worker/service.ts";
import { startingOver } from "./src/worker/setup.ts";
import type { CommandContext } from "./src/cli/context.ts";

/** The version `qw --version` prints. */
export { VERSION } from "./src/core/version.ts";
import { VERSION } from "./src/core/version.ts";

type Runner = (ctx: CommandContext) => Promise<number>;
const RUNNERS: Record<Exclude<Command, "run">, () => Promise<Runner>> = {
  init: async () => (await import("./src/cli/commands/cmd_init.ts")).runInit,
  enqueue: async () => (await import("./src/cli/commands/cmd_enqueue.ts")).runEnqueue,
  result: async () => (await import("./src/cli/commands/cmd_result.ts")).runResult,
  inspect: async () => (await import("./src/cli/commands/cmd_inspect.ts")).runInspect,
  dlq: async () => (await import("./src/cli/commands/cmd_dlq.ts")).runDlq,
  events: async () => (await import("./src/cli/commands/cmd_events.ts")).runEvents,
  revoke: async () => (await import("./src/cli/commands/cmd_revoke.ts")).runRevoke,
  schedule: async () => (await import("./src/cli/commands/cmd_schedule.ts")).runSchedule,
  dashboard: async () => (await import("./src/cli/commands/cmd_dashboard.ts")).runDashboard,
  pause: async () => (await import("./src/cli/commands/cmd_pause.ts")).runPause,
  resume: async () => (await import("./src/cli/commands/cmd_pause.ts")).runResume,
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
  if (parsed.printConfig) {
    try {
      rt.writeStdout(JSON.stringify(configFile(resolve(parsed, true)), null, 2) + "\n");
      return 0;
    } catch (e) {
      return fail(errorText(e), 2);
    }
  }
  let config: ResolvedConfig;
  try {
    config = resolve(parsed, false) as ResolvedConfig;
  } catch (e) {
    return fail(errorText(e), 2);
  }
  const log = await setupLogging({
    level: config.logLevel,
    format: config.logFormat,
    write: rt.writeStderr,
    oneShot: parsed.command !== "run",
  });
  try {
    if (parsed.command === "run") return await runWorker(config as WorkerConfig, log.listener);
    const runner = await RUNNERS[parsed.command]();
    const events = new Emitter();
    events.on(log.listener);
    return await runner({
      cli: parsed,
      config,
      events,
      out: rt.writeStdout,
      err: rt.writeStderr,
      isTTY: rt.stdoutIsTTY(),
      stdinIsTTY: rt.stdinIsTTY(),
      ask: rt.askLine,
    });
  } catch (e) {
    log.flush();
    return fail(errorText(e), 1);
  } finally {
    log.flush();
  }
}

function resolve(parsed: CommandCli, partial: boolean) {
  const attempt = partial ? "print config" : ATTEMPT[parsed.command];
  let fileValues: QwOptions | undefined;
  if (parsed.configFile !== null) {
    let text: string;
    try {
      text = readFileSync(parsed.configFile, "utf8");
    } catch (e) {
      throw new Error(`Cannot ${attempt} as config file '${parsed.configFile}' must be readable: ${errorText(e)}`);
    }
    try {
      fileValues = JSON.parse(text);
    } catch (e) {
      throw new Error(`Cannot ${attempt} as config file '${parsed.configFile}' must be JSON: ${errorText(e)}`);
    }
    if (typeof fileValues !== "object" || fileValues === null || Array.isArray(fileValues)) {
      const shown = JSON.stringify(fileValues).slice(0, 40);
      throw new TypeError(`Cannot ${attempt} as config file '${parsed.configFile}' must hold a JSON object: current value is ${JSON.stringify(shown)}`);
    }
  }
  return resolveConfig(parsed.options, {
    env: rt.env(),
    fileValues,
    cpuCount: rt.cpuCount(),
    hostname: rt.hostname(),
    pid: rt.pid(),
    purpose: parsed.command === "run" ? "worker" : "client",
    attempt,
    partial,
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
  // Tracing is loaded only when asked for: otherwise no SDK, no tracer, and runs cost nothing more.
  const tracing = config.otlpEndpoint === null
    ? null
    : (await import("./src/cli/tracing.ts")).tracingFor(config.otlpEndpoint, rt.env(), {
      instance: config.name,
      onError: (message) => events.emit({ type: "error", where: "traces", error: `Cannot export traces: ${message}` }),
    });
  try {
    // A request that timed out while the worker started (a cluster electing a leader, a loaded server): start again.
    service = await startingOver(config, (e) => events.emit(e), () => startService(config, { events, tracer: tracing?.tracer }));
  } catch (e) {
    await tracing?.shutdown(0);
    // A bad schedule in the tasks file is bad config, like a bad flag: exit 2.
    if ((e instanceof TypeError || e instanceof RangeError) && e.message.startsWith("Cannot start worker as ")) return fail(e.message, 2);
    throw e;
  }
  if (stopRequested) void service.close(`received ${stopRequested}`);
  await service.closed;
  // The spans of the last runs: exported before exit, or given up after 5 s.
  await tracing?.shutdown();
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
