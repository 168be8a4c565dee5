/**
 * Worker and client configuration: defaults, environment variables and
 * validation. Pure: no I/O and no globals; the caller passes the environment,
 * the parsed config file and the runtime facts in.
 *
 * Precedence: explicit option > environment variable > config file > default.
 * Durations are seconds (fractions allowed), as in Celery. Each option is read
 * and checked by the reader in _config_reader.ts.
 */

import { Reader, ratePerSecond, show } from "./_config_reader.ts";
import { canonicalOptions, fileKey } from "./_config_keys.ts";
import type { ResolvedTaskOptions } from "../types.ts";
import { TASK_DEFAULT_KEYS, type TaskDefaultKey, TASK_OPTION_RULES } from "../task/task_options.ts";
import type { OptionKey, QwOptions } from "./options.ts";

export type LogLevel = "debug" | "info" | "warning" | "error";
export type LogFormat = "text" | "json";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type { OptionKey, QwOptions };

/** Worker-wide task options: every task starts from these and may override them. */
export type TaskDefaults = Omit<
  ResolvedTaskOptions,
  "autoretryFor" | "dontAutoretryFor" | "bind" | "schedules" | "expires" | "priority" | "rateLimitScope" | "batch" | "concurrency"
>;

/** The validated configuration; `null` means "none". */
export interface ResolvedConfig {
  servers: string[];
  user: string | null; password: string | null; token: string | null;
  nkeySeedFile: string | null; credsFile: string | null;
  tlsCaFile: string | null; tlsCertFile: string | null; tlsKeyFile: string | null;
  /** Seconds to keep retrying the first connection. */
  connectTimeout: number;
  stream: string; tasks: string | null; consumer: string; concurrency: number;
  logLevel: LogLevel; logFormat: LogFormat;
  ackWait: number; grace: number;
  /** A job delivered more times than this is dead-lettered without running. */
  maxDeliveries: number;
  results: boolean; resultTtl: number;
  /** Publish job and worker events on `_qw.events.<stream>`. */
  events: boolean;
  /** "host:port" of the HTTP endpoint. */
  http: string | null;
  name: string; maxTasksPerChild: number | null;
  /** Seconds the pool may hold waiting jobs with no Web Worker running or reporting before /healthz fails; twice this and qw hands its jobs back and exits 1. */
  stallTimeout: number;
  /** Seconds a Web Worker may take to load the tasks file before it is terminated and spawned again. */
  spawnTimeout: number;
  /** Publish the ticks of the tasks' schedules from this process. */
  schedules: boolean;
  /** Base URL of the OTLP/HTTP receiver traces are exported to; null exports none. */
  otlpEndpoint: string | null;
  taskDefaults: TaskDefaults;
}

/** A config resolved for `--print-config`: the stream (and so the default consumer) may be unknown. */
export type PartialConfig = Omit<ResolvedConfig, "stream" | "consumer"> & { stream: string | null; consumer: string | null };

/** A config resolved for the worker: the tasks file is known. */
export interface WorkerConfig extends ResolvedConfig {
  tasks: string;
}

export interface ResolveContext {
  /** The environment variables, e.g. `process.env` or `Deno.env.toObject()`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values of the config file, parsed by the caller; unknown keys are rejected. */
  fileValues?: QwOptions;
  /** What the caller is doing, for error messages ("enqueue job"); by default from `purpose`. */
  attempt?: string;
  /** For `--print-config`: the stream and the tasks file may be missing. */
  partial?: boolean;
  cpuCount: number;
  hostname: string;
  pid: number;
  /**
   * "worker" (default) requires a tasks file; "client" commands do not. Both require a stream. A client
   * gives up connecting sooner: a one-shot command should fail fast when the server is down.
   */
  purpose?: "worker" | "client";
}

export const DEFAULT_SERVERS: readonly string[] = Object.freeze(["nats://127.0.0.1:4222"]);
export const DEFAULT_CONNECT_TIMEOUT = 30;
/** The connect timeout of one-shot commands (enqueue, result, inspect, dlq, events): fail fast when the server is down. */
export const DEFAULT_CLIENT_CONNECT_TIMEOUT = 5;
export const DEFAULT_CONSUMER_PREFIX = "qw_";
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
export const DEFAULT_LOG_FORMAT: LogFormat = "text";
export const DEFAULT_ACK_WAIT = 30;
export const DEFAULT_GRACE = 30;
export const DEFAULT_MAX_DELIVERIES = 5;
export const DEFAULT_RESULTS = true;
/** Events are opt-in, as Celery's `worker_send_task_events` (`-E`): publishing them costs throughput. */
export const DEFAULT_EVENTS = false;
export const DEFAULT_RESULT_TTL = 86400;
export const DEFAULT_STALL_TIMEOUT = 30;
export const DEFAULT_SPAWN_TIMEOUT = 30;
export const DEFAULT_SCHEDULES = true;
export const DEFAULT_TASK_DEFAULTS: Readonly<TaskDefaults> = Object.freeze({
  acksLate: false, rejectOnWorkerLost: false, acksOnFailureOrTimeout: true, confirmAck: false,
  maxRetries: 3, defaultRetryDelay: 180, retryBackoff: 0, retryBackoffMax: 600, retryJitter: true,
  timeLimit: null, softTimeLimit: null, rateLimit: null, trackStarted: false, ignoreResult: false,
});

type Key = OptionKey;

/** The environment variable of every option. */
export const ENV_VARS: { readonly [K in Key]-?: string } = Object.freeze({
  server: "NATS_URL", user: "QW_NATS_USER", password: "QW_NATS_PASSWORD", token: "QW_NATS_TOKEN",
  nkeySeedFile: "QW_NATS_NKEY_FILE", credsFile: "QW_NATS_CREDS_FILE",
  tlsCaFile: "QW_NATS_TLS_CA", tlsCertFile: "QW_NATS_TLS_CERT", tlsKeyFile: "QW_NATS_TLS_KEY",
  connectTimeout: "QW_CONNECT_TIMEOUT",
  stream: "QW_STREAM", tasks: "QW_TASKS", consumer: "QW_CONSUMER", concurrency: "QW_CONCURRENCY",
  logLevel: "QW_LOG_LEVEL", logFormat: "QW_LOG_FORMAT",
  ackWait: "QW_ACK_WAIT", grace: "QW_GRACE", maxDeliveries: "QW_MAX_DELIVERIES",
  results: "QW_RESULTS", resultTtl: "QW_RESULT_TTL", events: "QW_EVENTS", http: "QW_HTTP", name: "QW_NAME",
  maxTasksPerChild: "QW_MAX_TASKS_PER_CHILD", stallTimeout: "QW_STALL_TIMEOUT", spawnTimeout: "QW_SPAWN_TIMEOUT",
  schedules: "QW_SCHEDULES", otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  acksLate: "QW_ACKS_LATE", rejectOnWorkerLost: "QW_REJECT_ON_WORKER_LOST", confirmAck: "QW_CONFIRM_ACK",
  acksOnFailureOrTimeout: "QW_ACKS_ON_FAILURE_OR_TIMEOUT",
  maxRetries: "QW_MAX_RETRIES", defaultRetryDelay: "QW_DEFAULT_RETRY_DELAY",
  retryBackoff: "QW_RETRY_BACKOFF", retryBackoffMax: "QW_RETRY_BACKOFF_MAX", retryJitter: "QW_RETRY_JITTER",
  timeLimit: "QW_TIME_LIMIT", softTimeLimit: "QW_SOFT_TIME_LIMIT", rateLimit: "QW_RATE_LIMIT", trackStarted: "QW_TRACK_STARTED",
  ignoreResult: "QW_IGNORE_RESULT",
});

// deno-lint-ignore no-control-regex
const BAD_NAME_CHARS = /[\s.*>/\\\x00-\x1f\x7f]/;

/** Checks a JetStream stream or consumer name; `what` names the field in the error. */
export function validateStreamName(name: unknown, what: string, attempt = "start worker"): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot ${attempt} as '${what}' must be a non-empty name: current value is ${show(name)}`);
  }
  if (BAD_NAME_CHARS.test(name)) {
    throw new RangeError(
      `Cannot ${attempt} as '${what}' must be a name without whitespace, ".", "*", ">", "/" or "\\": current value is ${show(name)}`,
    );
  }
  return name;
}

/** Parses a Celery rate limit: "10/s", "100/m", "1000/h"; a bare number is per second. */
export function parseRateLimit(s: string): { perSecond: number } {
  const perSecond = typeof s === "string" ? ratePerSecond(s) : undefined;
  if (perSecond === undefined) {
    throw new RangeError(
      `Cannot parse rate limit as it must be "N/s", "N/m" or "N/h" with N a positive number: current value is ${show(s)}`,
    );
  }
  return { perSecond };
}


// The task options with a worker-wide default are exactly the fields of TaskDefaults.
const _sameKeys: [TaskDefaultKey, keyof TaskDefaults] extends [keyof TaskDefaults, TaskDefaultKey] ? true : never = true;

/** The task defaults, each read with the rule the tasks file's options are checked with (task_options.ts). */
function readTaskDefaults(r: Reader): TaskDefaults {
  const out: Record<string, unknown> = { ...DEFAULT_TASK_DEFAULTS };
  for (const key of TASK_DEFAULT_KEYS) {
    const src = r.source(key);
    if (src !== undefined) out[key] = r.check(src, TASK_OPTION_RULES[key]);
  }
  return out as TaskDefaults;
}

/** Resolves only the worker-wide task defaults, with the precedence of {@linkcode resolveConfig}. */
export function resolveTaskDefaults(
  options: QwOptions,
  context: Pick<ResolveContext, "env" | "fileValues"> = {},
): TaskDefaults {
  return readTaskDefaults(new Reader("start worker", options, context.env ?? {}, context.fileValues ?? {}, ENV_VARS));
}

/**
 * Resolves and validates the configuration. Throws a one-line `TypeError`
 * (wrong kind of value, missing value) or `RangeError` (value out of range).
 * Errors name the environment variable when the value came from there.
 */
export function resolveConfig(options: QwOptions, context: ResolveContext & { purpose: "client"; partial?: false }): ResolvedConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext & { partial: true }): PartialConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext & { purpose?: "worker"; partial?: false }): WorkerConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext): PartialConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext): PartialConfig {
  const purpose = context.purpose ?? "worker";
  const partial = context.partial === true;
  const attempt = context.attempt ?? (partial ? "print config" : purpose === "worker" ? "start worker" : "run command");
  const keys = Object.keys(ENV_VARS) as Key[];
  const given = canonicalOptions(options as Record<string, unknown>, keys, { attempt, where: "option" });
  const file = canonicalOptions((context.fileValues ?? {}) as Record<string, unknown>, keys, { attempt, where: "config file" });
  const r = new Reader(attempt, given, context.env ?? {}, file, ENV_VARS);
  const positive = { min: 0, exclusive: true };
  const cpus = Number.isFinite(context.cpuCount) ? Math.max(1, Math.floor(context.cpuCount)) : 1;

  const servers = r.servers(DEFAULT_SERVERS);
  const text = (key: Key) => r.string(key, null, true);
  const stream = partial && r.source("stream") === undefined
    ? null
    : validateStreamName(r.required("stream", "--stream"), r.source("stream")!.label, attempt);
  const consumerSrc = r.source("consumer");
  const consumer = consumerSrc === undefined
    ? stream === null ? null : `${DEFAULT_CONSUMER_PREFIX}${stream}`
    : validateStreamName(consumerSrc.value, consumerSrc.label, attempt);
  const config: PartialConfig = {
    servers,
    user: text("user"), password: text("password"), token: text("token"),
    nkeySeedFile: text("nkeySeedFile"), credsFile: text("credsFile"),
    tlsCaFile: text("tlsCaFile"), tlsCertFile: text("tlsCertFile"), tlsKeyFile: text("tlsKeyFile"),
    connectTimeout: r.number("connectTimeout", purpose === "worker" ? DEFAULT_CONNECT_TIMEOUT : DEFAULT_CLIENT_CONNECT_TIMEOUT, { min: 0 }),
    stream,
    tasks: purpose === "worker" && !partial ? r.required("tasks", "--tasks") : r.string("tasks", null),
    consumer,
    concurrency: r.number("concurrency", cpus, { int: true, min: 1 }),
    logLevel: r.choice("logLevel", LOG_LEVELS, DEFAULT_LOG_LEVEL),
    logFormat: r.choice("logFormat", LOG_FORMATS, DEFAULT_LOG_FORMAT),
    ackWait: r.number("ackWait", DEFAULT_ACK_WAIT, positive),
    grace: r.number("grace", DEFAULT_GRACE, { min: 0 }),
    maxDeliveries: r.number("maxDeliveries", DEFAULT_MAX_DELIVERIES, { int: true, min: 2 }),
    results: r.boolean("results", DEFAULT_RESULTS),
    events: r.boolean("events", DEFAULT_EVENTS),
    resultTtl: r.number("resultTtl", DEFAULT_RESULT_TTL, positive),
    http: r.http(),
    name: r.string("name", `${context.hostname}:${context.pid}`),
    maxTasksPerChild: r.number("maxTasksPerChild", null, { int: true, min: 1 }, true),
    stallTimeout: r.number("stallTimeout", DEFAULT_STALL_TIMEOUT, positive),
    spawnTimeout: r.number("spawnTimeout", DEFAULT_SPAWN_TIMEOUT, positive),
    schedules: r.boolean("schedules", DEFAULT_SCHEDULES),
    otlpEndpoint: r.httpUrl("otlpEndpoint"),
    taskDefaults: readTaskDefaults(r),
  };
  if ((config.tlsCertFile === null) !== (config.tlsKeyFile === null)) {
    const [given, missing]: Key[] = config.tlsCertFile === null ? ["tlsKeyFile", "tlsCertFile"] : ["tlsCertFile", "tlsKeyFile"];
    throw new TypeError(`Cannot ${attempt} as '${fileKey(given)}' and '${fileKey(missing)}' must be set together: current value of '${fileKey(missing)}' is null`);
  }
  return config;
}

function maskUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(":");
    return `${scheme}${colon === -1 ? "***" : `${auth.slice(0, colon)}:***`}@`;
  });
}

/** Options a resolved config never holds as null, so a config file must leave them out then. */
const NEVER_NULL: ReadonlySet<Key> = new Set(["stream", "consumer", "tasks"]);

/**
 * The config as a config file, for `--print-config`: the keys are the long flags in camelCase, task defaults
 * are top-level options, and password, token and URL credentials are "***". Reading it back with
 * `--config` gives the same config (with the masked secrets as "***").
 */
export function configFile(config: PartialConfig): Record<string, unknown> {
  const values: Record<string, unknown> = {
    ...config,
    ...config.taskDefaults,
    server: config.servers.map(maskUrl),
    password: config.password === null ? null : "***",
    token: config.token === null ? null : "***",
  };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ENV_VARS) as Key[]) {
    if (values[key] === null && NEVER_NULL.has(key)) continue;
    out[fileKey(key)] = values[key];
  }
  return out;
}
