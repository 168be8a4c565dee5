/**
 * Events as log lines through LogTape: text or JSON lines, into a buffered
 * sink so logging is never what limits throughput. Only cli.ts configures
 * logging; `qw events` reuses the pure `messageOf`.
 *
 * @module
 */

import { configure, getLogger, type LogLevel, type LogRecord, reset, type Sink } from "@logtape/logtape";
import type { QwEvent } from "../core/events.ts";
import { CONNECTED, connectionLine, type ConnectionLogState } from "./_connection_lines.ts";

/** Levels as the CLI names them. */
export type CliLogLevel = "debug" | "info" | "warning" | "error";

/**
 * The level of each event: failures are errors, things to look at are warnings. A failed connection
 * attempt is a warning the first time only (the final error says the rest), and only at debug for a
 * one-shot command, whose single line is the error.
 */
export function levelOf(e: QwEvent, options: { oneShot?: boolean } = {}): LogLevel {
  switch (e.type) {
    // A line per job that went well would cost more than some jobs: --log-level debug shows them.
    case "job.started":
    case "job.succeeded":
    case "job.ignored":
    case "job.deferred":
    case "pool.size":
      return "debug";
    case "schedule.fired":
      return e.duplicate ? "debug" : "info";
    case "job.failed":
    case "worker.time_limit":
    case "worker.spawn_failed":
    case "pool.stalled":
    case "error":
      return "error";
    case "job.retry_scheduled":
    case "job.requeued":
    case "job.rejected":
    case "job.invalid":
    case "job.redelivered_held":
    case "worker.lost":
    case "result.store_failed":
    case "stream.dedup_window_short":
    case "result.converted":
    case "revoke.invalid":
      return "warning";
    case "consumer.ack_wait":
      return e.changed ? "info" : "warning";
    // A pause hands back or parks every job of what is paused: the pause itself is the line to read.
    case "job.handed_back":
      return e.cause === "paused" ? "debug" : "warning";
    case "connection.retry":
      return e.attempt === 1 && !options.oneShot ? "warning" : "debug";
    case "connection.status":
      return e.status === "disconnect" || e.status === "error" || e.status === "pull_retry" ? "warning" : "info";
    default:
      return "info";
  }
}

/** A one-line human message for an event. Pure. */
export function messageOf(e: QwEvent): string {
  switch (e.type) {
    case "job.started":
      return `${e.task}[${e.id}] started`;
    case "job.succeeded":
      return `${e.task}[${e.id}] succeeded in ${e.ms.toFixed(1)}ms`;
    case "job.failed":
      return `${e.task}[${e.id}] failed: ${e.error.name}: ${e.error.message}`;
    case "job.retry_scheduled":
      return `${e.task}[${e.id}] retry ${e.retries + 1} in ${e.countdown}s${e.error ? `: ${e.error.name}: ${e.error.message}` : ""}`;
    case "job.requeued":
      return `${e.task}[${e.id}] requeued${e.note ? `: ${e.note}` : ""}`;
    case "job.rejected":
      return `${e.task}[${e.id}] rejected: ${e.reason}`;
    case "job.ignored":
      return `${e.task}[${e.id}] ignored`;
    case "job.revoked":
      return `${e.task}[${e.id}] revoked: ${e.reason}`;
    case "job.expired":
      return `${e.task}[${e.id}] expired at ${new Date(e.expiresAt).toISOString()} before it started: not run, stored REVOKED`;
    case "job.handed_back":
      return `${e.task}[${e.id}] handed back: ${e.reason}`;
    case "job.redelivered_held":
      return `${e.task}[${e.id}] delivered again while this process holds it (delivery ${e.deliveryCount}): not run twice`;
    case "job.deferred":
      return `${e.task}[${e.id}] waits for its rate limit until ${new Date(e.until).toISOString()}`;
    case "job.invalid":
      return `message ${e.seq} on '${e.subject}' rejected: ${e.reason}`;
    case "service.started":
      return `worker started: stream '${e.stream}', consumer '${e.consumer}', concurrency ${e.concurrency}, tasks ${e.tasks.join(", ")}${
        e.delays ? `, delays held by ${e.delays === "server" ? "the server" : "qw"}` : ""
      }`;
    case "service.closing":
      return `shutting down: ${e.reason}`;
    case "service.draining":
      return `waiting up to ${e.graceSeconds} s for ${e.running} running job${e.running === 1 ? "" : "s"}; signal again to stop now`;
    case "service.closed":
      return `shut down; ${e.handedBack} job(s) handed back`;
    case "stream.created":
      return `created stream '${e.stream}' with subjects ${e.subjects.join(", ")}`;
    case "connection.status":
      return `connection ${e.status}${e.detail ? `: ${e.detail}` : ""}`;
    case "connection.retry":
      return `cannot connect to NATS at '${e.server}' (attempt ${e.attempt}): ${e.error}; retrying for up to ${e.timeoutSeconds} s`;
    case "worker.lost":
      return `Web Worker ${e.worker} lost: ${e.reason}; replacing it`;
    case "worker.time_limit":
      return `Web Worker ${e.worker} terminated: ${e.task}[${e.id}] passed its time limit`;
    case "worker.recycled":
      return `Web Worker ${e.worker} recycled after ${e.jobs} jobs`;
    case "worker.spawn_failed":
      return `Web Worker ${e.worker} failed to start (attempt ${e.attempt}): ${e.error}; retrying in ${e.retryInMs / 1000} s`;
    case "pool.size":
      return `${e.ready} of ${e.size} Web Workers ready`;
    case "pool.stalled":
      return e.fatal
        ? `the pool did not recover: ${e.waiting} job(s) waited ${e.seconds} s with no Web Worker running or reporting; handing every unacked job back and exiting`
        : `the pool is stalled: ${e.waiting} job(s) waiting ${e.seconds} s with no Web Worker running or reporting; /healthz fails until it recovers`;
    case "pool.recovered":
      return `the pool recovered after ${e.seconds} s`;
    case "result.store_failed":
      return `cannot store ${e.state} of '${e.id}': ${e.error}`;
    case "schedule.started":
      return `schedules: ${e.schedules.join("; ")}${e.firing ? "" : " (not fired by this process: --no-schedules)"}`;
    case "schedule.fired":
      return `${e.task}@${e.index} tick ${e.tick} ${e.duplicate ? "was published already" : "published"} as job '${e.id}'`;
    case "schedule.skipped":
      return `${e.task}@${e.index} skipped ${e.ticks} missed tick(s) (catchUp "${e.catchUp}")`;
    case "stream.dedup_window_short":
      return `the duplicate window of stream '${e.stream}' is ${e.windowSeconds} s, shorter than the ${e.neededSeconds} s needed by ${e.reasons.join(" and ")}: a job may run twice; raise it with 'nats stream edit ${e.stream} --dupe-window ${e.neededSeconds}s'`;
    case "result.converted":
      return `${e.task}[${e.id}] returned ${e.converted}: JSON cannot hold it as it is (said once per task)`;
    case "consumer.ack_wait":
      return e.changed
        ? `changed the ack wait of consumer '${e.consumer}' from ${e.previousSeconds} s to ${e.ackWaitSeconds} s: workers running now keep their old pace until restarted`
        : `consumer '${e.consumer}' keeps its ack wait of ${e.ackWaitSeconds} s (this process asked for ${e.requestedSeconds} s): renewing and handing back at ${e.ackWaitSeconds} s; change it for every process with 'qw init --ack-wait ${e.requestedSeconds}'`;
    case "pause.changed":
      return e.paused.length === 0 ? "nothing paused: jobs start again" : `paused: ${e.paused.join("; ")}`;
    case "revoke.invalid":
      return `ignored key '${e.key}' of bucket '${e.bucket}': ${e.reason} (write revokes with 'qw revoke'; delete the key to un-revoke)`;
    case "error":
      return `${e.where}: ${e.error}`;
  }
}

/**
 * The fields of an event's JSON line: the event itself, with the ids of its run's trace under the names
 * OpenTelemetry's log data model gives them (`trace_id`, `span_id`). Pure.
 */
export function jsonFields(e: QwEvent): Record<string, unknown> {
  if (!("traceId" in e) || e.traceId === undefined) return { ...e };
  const { traceId, spanId, ...rest } = e;
  return { ...rest, trace_id: traceId, span_id: spanId };
}

/** Format a record as a text line or a JSON line. Pure. */
export function formatRecord(r: LogRecord, format: "text" | "json"): string {
  const msg = r.message.map(String).join("");
  if (format === "json") {
    return JSON.stringify({ time: new Date(r.timestamp).toISOString(), level: r.level, msg, ...r.properties }) + "\n";
  }
  return `${new Date(r.timestamp).toISOString()} ${r.level.toUpperCase().padEnd(7)} ${msg}\n`;
}

/** A sink that buffers lines and writes them in chunks: every 50 ms, at 64 KiB, and on flush. */
export function bufferedSink(write: (s: string) => void, format: "text" | "json"): Sink & { flush(): void } {
  let buf: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buf.length === 0) return;
    const out = buf.join("");
    buf = [];
    size = 0;
    write(out);
  };
  const sink = (r: LogRecord) => {
    const line = formatRecord(r, format);
    buf.push(line);
    size += line.length;
    if (size > 65536) flush();
    else if (!timer) {
      timer = setTimeout(flush, 50);
      (timer as { unref?: () => void }).unref?.();
    }
  };
  return Object.assign(sink, { flush });
}

/** Configure LogTape and return a listener that logs events, plus flush for exit. */
export async function setupLogging(
  options: { level: CliLogLevel; format: "text" | "json"; write: (s: string) => void; oneShot?: boolean },
): Promise<{ listener: (e: QwEvent) => void; flush(): void }> {
  const sink = bufferedSink(options.write, options.format);
  await reset();
  await configure({
    sinks: { out: sink },
    loggers: [
      { category: ["qw"], lowestLevel: options.level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
  const logger = getLogger(["qw"]);
  // The level never changes at run time: decide once which levels pass.
  const enabled = new Set<LogLevel>((["debug", "info", "warning", "error"] as const).filter((l) => logger.isEnabledFor(l)));
  let connection: ConnectionLogState = CONNECTED;
  const listener = (e: QwEvent) => {
    let level = levelOf(e, options);
    let msg: string | undefined;
    const line = connectionLine(connection, e, Date.now());
    if (line !== null) {
      connection = line.state;
      [level, msg] = [line.level, line.message];
    }
    if (!enabled.has(level)) return;
    msg ??= messageOf(e);
    logger.emit({ level, message: [msg], rawMessage: msg, timestamp: Date.now(), properties: options.format === "json" ? jsonFields(e) : {} });
  };
  return { listener, flush: sink.flush };
}
