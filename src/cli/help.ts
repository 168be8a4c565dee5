/**
 * The flag table of the `qw` command line and its help text. Pure data; the
 * parser is in args.ts and the environment variable names in config.ts.
 */

import {
  DEFAULT_ACK_WAIT,
  DEFAULT_CLIENT_CONNECT_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_GRACE,
  DEFAULT_MAX_DELIVERIES,
  DEFAULT_RESULT_TTL,
  DEFAULT_SPAWN_TIMEOUT,
  DEFAULT_STALL_TIMEOUT,
  DEFAULT_SERVERS,
  DEFAULT_TASK_DEFAULTS as T,
  ENV_VARS,
  type OptionKey,
} from "../core/config/config.ts";

export type Command =
  | "run" | "init" | "enqueue" | "result" | "inspect" | "dlq" | "events" | "revoke" | "schedule" | "dashboard" | "pause" | "resume";
export const COMMANDS: readonly Command[] = [
  "run", "init", "enqueue", "result", "inspect", "dlq", "events", "revoke", "schedule", "dashboard", "pause", "resume",
];

/** A flag that sets a config option: a value flag, or a boolean flag setting `key` to `sets`. */
export interface ConfigFlag {
  name: string;
  key: OptionKey;
  /** Value name in the help; absent for boolean flags. */
  arg?: string;
  /** What a boolean flag sets `key` to. */
  sets?: boolean;
  /** One-letter alias. */
  short?: string;
  help: string;
}

/** A flag of one or more subcommands; it sets nothing in the config. */
export interface CommandFlag {
  name: string;
  arg?: string;
  short?: string;
  multiple?: boolean;
  help: string;
  commands: readonly Command[];
}

const on = (name: string, key: OptionKey, help: string): ConfigFlag[] => [
  { name, key, sets: true, help },
  { name: `no-${name}`, key, sets: false, help: `Opposite of --${name}` },
];
const off = (name: string, key: OptionKey, help: string): ConfigFlag[] => [
  { name: `no-${name}`, key, sets: false, help },
  { name, key, sets: true, help: `Opposite of --no-${name}` },
];

/** Flags of every command: connection, stream and logging. */
export const CONNECTION_FLAGS: readonly ConfigFlag[] = [
  { name: "server", key: "server", arg: "URLS", help: `NATS URLs, comma-separated (default ${DEFAULT_SERVERS.join(",")})` },
  { name: "user", key: "user", arg: "NAME", help: "NATS user name" },
  { name: "password", key: "password", arg: "PASSWORD", help: "NATS password" },
  { name: "token", key: "token", arg: "TOKEN", help: "NATS auth token" },
  { name: "nkey-file", key: "nkeySeedFile", arg: "FILE", help: "NKey seed file" },
  { name: "creds-file", key: "credsFile", arg: "FILE", help: "NATS credentials file (JWT and seed)" },
  { name: "tls-ca", key: "tlsCaFile", arg: "FILE", help: "CA certificate that signed the server's" },
  { name: "tls-cert", key: "tlsCertFile", arg: "FILE", help: "Client certificate (with --tls-key)" },
  { name: "tls-key", key: "tlsKeyFile", arg: "FILE", help: "Client private key (with --tls-cert)" },
  { name: "connect-timeout", key: "connectTimeout", arg: "SECONDS", help: `Retry connecting this long (default ${DEFAULT_CONNECT_TIMEOUT}; other commands ${DEFAULT_CLIENT_CONNECT_TIMEOUT})` },
  { name: "stream", key: "stream", arg: "NAME", help: "JetStream stream of the jobs (required)" },
  { name: "consumer", key: "consumer", arg: "NAME", help: "Durable consumer (default qw_<stream>)" },
  { name: "log-level", key: "logLevel", arg: "LEVEL", help: "debug, info, warning or error (default info)" },
  { name: "log-format", key: "logFormat", arg: "FORMAT", help: "text or json (default text)" },
];

/** Flags of `qw run` that configure the worker. */
export const WORKER_FLAGS: readonly ConfigFlag[] = [
  { name: "tasks", key: "tasks", arg: "FILE", help: "Module whose exports are the tasks (required)" },
  { name: "concurrency", key: "concurrency", arg: "N", help: "Jobs run at once (default: CPU count)" },
  { name: "ack-wait", key: "ackWait", arg: "SECONDS", help: `Redeliver a job not acked this long (default ${DEFAULT_ACK_WAIT})` },
  { name: "grace", key: "grace", arg: "SECONDS", help: `On shutdown, wait this long for running jobs (default ${DEFAULT_GRACE})` },
  { name: "max-deliveries", key: "maxDeliveries", arg: "N", help: `Dead-letter jobs delivered more often (default ${DEFAULT_MAX_DELIVERIES})` },
  ...off("results", "results", "Do not store task results"),
  { name: "events", short: "E", key: "events", sets: true, help: "Publish job events on _qw.events.<stream> (default off, as Celery's -E)" },
  { name: "no-events", key: "events", sets: false, help: "Opposite of --events" },
  { name: "result-ttl", key: "resultTtl", arg: "SECONDS", help: `Keep results this long (default ${DEFAULT_RESULT_TTL})` },
  { name: "http", key: "http", arg: "HOST:PORT", help: "Serve the HTTP status endpoint here (default none)" },
  { name: "name", key: "name", arg: "NAME", help: "Worker name (default <hostname>:<pid>)" },
  { name: "max-tasks-per-child", key: "maxTasksPerChild", arg: "N", help: "Replace a Web Worker after N jobs (default never)" },
  { name: "stall-timeout", key: "stallTimeout", arg: "SECONDS", help: `Stalled this long: /healthz fails; twice: exit 1 (default ${DEFAULT_STALL_TIMEOUT})` },
  { name: "spawn-timeout", key: "spawnTimeout", arg: "SECONDS", help: `Respawn a Web Worker not ready this long (default ${DEFAULT_SPAWN_TIMEOUT})` },
  ...off("schedules", "schedules", "Do not publish the ticks of the tasks' schedules from this process"),
  { name: "otlp-endpoint", key: "otlpEndpoint", arg: "URL", help: "Send traces to URL/v1/traces (OTLP/HTTP)" },
];

/** Flags of `qw init`, besides the connection's: what shapes the consumer and the results bucket. */
export const INIT_FLAGS: readonly ConfigFlag[] = WORKER_FLAGS.filter((f) => ["ackWait", "results", "resultTtl"].includes(f.key));

/** Flags of `qw run` that set the defaults of every task. */
export const TASK_FLAGS: readonly ConfigFlag[] = [
  ...on("acks-late", "acksLate", "Ack after the run, not when the job starts"),
  ...on("reject-on-worker-lost", "rejectOnWorkerLost", "With acks-late, requeue jobs whose Web Worker died"),
  ...off("acks-on-failure-or-timeout", "acksOnFailureOrTimeout", "With acks-late, term failed and timed-out jobs"),
  ...on("confirm-ack", "confirmAck", "Start a job once the server confirmed its ack (strict at most once)"),
  { name: "max-retries", key: "maxRetries", arg: "N", help: `Retries after the first run, "none" = forever (default ${T.maxRetries})` },
  { name: "default-retry-delay", key: "defaultRetryDelay", arg: "SECONDS", help: `Countdown of a plain retry (default ${T.defaultRetryDelay})` },
  { name: "retry-backoff", key: "retryBackoff", arg: "FACTOR", help: "Autoretry backoff: true, false or a factor (default false)" },
  { name: "retry-backoff-max", key: "retryBackoffMax", arg: "SECONDS", help: `Cap of the backoff (default ${T.retryBackoffMax})` },
  ...off("retry-jitter", "retryJitter", "Use the full backoff, without random jitter"),
  { name: "time-limit", key: "timeLimit", arg: "SECONDS", help: "Kill a job's Web Worker after this long (default none)" },
  { name: "soft-time-limit", key: "softTimeLimit", arg: "SECONDS", help: "Abort the task's signal after this long (default none)" },
  { name: "rate-limit", key: "rateLimit", arg: "RATE", help: "Jobs per process: N/s, N/m or N/h (default none)" },
  ...on("track-started", "trackStarted", "Store a STARTED result when a job starts (one more write a job)"),
  ...on("ignore-result", "ignoreResult", "Store no result (Celery's ignore_result; per task: ignoreResult)"),
];

const LISTS: readonly Command[] = ["inspect", "dlq", "events", "schedule"];

/** Flags of the subcommands. `--json` takes a value for enqueue only. */
export const COMMAND_FLAGS: readonly CommandFlag[] = [
  { name: "json", arg: "ARGS_JSON", help: "Task args as one JSON array (instead of ARGs after the task)", commands: ["enqueue"] },
  { name: "id", arg: "ID", help: "Task id (default: a random UUID)", commands: ["enqueue"] },
  { name: "countdown", arg: "SECONDS", help: "Run no sooner than this many seconds from now", commands: ["enqueue"] },
  { name: "eta", arg: "DATE", help: "Run no sooner than this ISO 8601 date and time zone", commands: ["enqueue"] },
  { name: "expires", arg: "SECONDS|DATE", help: "Never run if not started by then: seconds from now or an ISO 8601 date", commands: ["enqueue"] },
  { name: "unique", arg: "KEY", help: "Add nothing while a job of the task with this key waits or runs; print its id", commands: ["enqueue"] },
  { name: "concurrency-key", arg: "KEY", help: "Run at most the task's concurrency limit of jobs with this key at once", commands: ["enqueue"] },
  { name: "debounce", arg: "SECONDS", help: "With --unique: run once, this long after the last enqueue of a burst", commands: ["enqueue"] },
  { name: "priority", arg: "N", help: "0 (lowest) to 9 (default 5): higher runs first", commands: ["enqueue"] },
  { name: "count", arg: "N", help: "Enqueue N copies (default 1); with --id X and N > 1, their ids are X-1 ... X-N", commands: ["enqueue"] },
  { name: "header", arg: "K=V", multiple: true, help: "Add a NATS message header; repeatable", commands: ["enqueue"] },
  { name: "wait", arg: "SECONDS", help: "Wait this long for a final state (default: do not wait)", commands: ["result"] },
  { name: "json", help: "Print JSON, one object a line", commands: LISTS },
  { name: "all", help: "With replay: replay every dead letter", commands: ["dlq"] },
  { name: "workers", help: "Show only the workers", commands: ["inspect"] },
  { name: "jobs", arg: "STATE", help: "List jobs: running, failed, waiting, delayed, revoked or expired", commands: ["inspect"] },
  { name: "task", arg: "TASK", help: "With --jobs: only the jobs of this task", commands: ["inspect"] },
  { name: "id-prefix", arg: "PREFIX", help: "With --jobs: only the jobs whose id starts with this", commands: ["inspect"] },
  { name: "terminate", help: "Also terminate the Web Worker of a job that is running", commands: ["revoke"] },
  { name: "ttl", arg: "SECONDS", help: "Expire the revoke after this on nats-server 2.11+ (default: stream max age)", commands: ["revoke"] },
  { name: "yes", short: "y", help: "With purge: do not ask (required when stdin is not a terminal)", commands: ["dlq"] },
  { name: "task", arg: "TASK", help: "Pause or resume this task only (default: the whole stream)", commands: ["pause", "resume"] },
  { name: "until", arg: "DATE", help: 'Resume by itself then: ISO 8601 with a zone, or from now ("90s", "2h")', commands: ["pause"] },
  { name: "http", arg: "HOST:PORT", help: "Serve the page here (default 127.0.0.1:8080; other than loopback needs a token)", commands: ["dashboard"] },
  { name: "http-token", arg: "TOKEN", help: "Token every API request must carry; open the page once with ?token= [QW_HTTP_TOKEN]", commands: ["dashboard"] },
];

/** Flags of every command that are about the command line itself. */
export const GENERAL_FLAGS: readonly CommandFlag[] = [
  { name: "config", arg: "FILE", help: "Read options from this config file (flags and env win)", commands: COMMANDS },
  { name: "print-config", help: "Print the resolved config as a --config file, secrets masked, and exit", commands: COMMANDS },
  { name: "help", short: "h", help: "Show this help and exit", commands: COMMANDS },
  { name: "version", short: "V", help: "Show the version and exit", commands: COMMANDS },
];

const WIDTH = 32;

/** The exit codes of `qw result`, as cmd_result.ts returns them; one help line each. */
const RESULT_EXIT_CODES = [
  "0 SUCCESS",
  "1 FAILURE",
  "2 not final yet (PENDING, STARTED or RETRY) or --wait timed out",
  "3 the result could not be read (unknown stream, no server)",
];

function line(flag: { name: string; arg?: string; short?: string }, help: string): string {
  const left = `${flag.short ? `-${flag.short}, ` : ""}--${flag.name}${flag.arg ? ` ${flag.arg}` : ""}`;
  return `  ${left.padEnd(WIDTH)} ${help}`;
}

function section(title: string, flags: readonly ConfigFlag[]): string {
  const lines = flags.map((f) => line(f, `${f.help} [${ENV_VARS[f.key]}]`));
  return `${title}\n${lines.join("\n")}`;
}

/** The text of `qw --help`. */
export function helpText(): string {
  const forCommands = (cs: readonly Command[]) => (f: CommandFlag) => f.commands.length === cs.length && f.commands.every((c) => cs.includes(c));
  const commandSection = (title: string, cs: readonly Command[]) =>
    `${title}\n${COMMAND_FLAGS.filter(forCommands(cs)).map((f) => line(f, f.help)).join("\n")}`;
  return [
    "qw: a job worker for NATS JetStream; every task runs in a Web Worker",
    "",
    "Usage:",
    "  qw [run] --stream NAME --tasks FILE [options]   Run the worker (the default command)",
    "  qw init [options]                                Create the streams, consumers and bucket a worker would",
    "  qw enqueue TASK [ARG...] [options]               Enqueue a job; each ARG is a JSON value, or a string if not JSON",
    "  qw result ID [--wait SECONDS]                    Show the state and result of a job",
    "  qw inspect [--json]                              Show the stream, consumer and workers",
    "  qw inspect --jobs STATE [--task T] [--id-prefix P] List running, failed, waiting, delayed, revoked or expired jobs",
    "  qw dlq [ls | show SEQ | replay SEQ | replay --all | purge [--yes]] [--json]   Manage dead letters",
    "  qw events [--json]                               Follow worker and job events",
    "  qw revoke ID [ID...] [--terminate] [--ttl SECS]  Revoke jobs: those not started never run; exit 1 if one already ended",
    "  qw schedule ls [--json]                          Show each schedule: spec, time zone, next and last tick, its state",
    "  qw dashboard [--http HOST:PORT] [--http-token T] Serve a live page: counts, workers, dead letters, job lookup",
    "  qw pause [--task TASK] [--until DATE]            Start no new job of the stream (or task); running jobs finish",
    "  qw resume [--task TASK]                          Undo 'qw pause'",
    "",
    "Options win over environment variables [in brackets], which win over the config file.",
    "",
    section("Connection (every command):", CONNECTION_FLAGS),
    "",
    section("Worker (qw run):", WORKER_FLAGS),
    "",
    section("Task defaults (qw run; a task's own options win):", TASK_FLAGS),
    "",
    `qw init: takes ${INIT_FLAGS.map((f) => `--${f.name}`).join(", ")} as the worker does`,
    "",
    commandSection("qw enqueue:", ["enqueue"]),
    "",
    commandSection("qw result:", ["result"]),
    ...RESULT_EXIT_CODES.map((text, i) => `  ${(i === 0 ? "Exit status:" : "").padEnd(WIDTH)} ${text}`),
    "",
    commandSection("qw inspect, qw dlq, qw events, qw schedule:", LISTS),
    "",
    commandSection("qw dlq:", ["dlq"]),
    "",
    commandSection("qw inspect:", ["inspect"]),
    "",
    commandSection("qw revoke:", ["revoke"]),
    "",
    commandSection("qw dashboard:", ["dashboard"]),
    "",
    commandSection("qw pause, qw resume:", ["pause", "resume"]),
    "",
    commandSection("qw pause:", ["pause"]),
    "",
    `General:\n${GENERAL_FLAGS.map((f) => line(f, f.help)).join("\n")}`,
    "",
  ].join("\n");
}
