/**
 * Worker and client configuration: defaults, environment variables and
 * validation. Pure: no I/O and no globals; the caller passes the environment,
 * the parsed config file and the runtime facts in.
 *
 * Precedence: explicit option > environment variable > config file > default.
 * Durations are seconds (fractions allowed), as in Celery.
 */

import type { ResolvedTaskOptions } from "./types.ts";

export type LogLevel = "debug" | "info" | "warning" | "error";
export type LogFormat = "text" | "json";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

type Num = number | string;
type Bool = boolean | string;

/** Configuration input from flags, code or a config file. Numbers and booleans may be strings. */
export interface QwOptions {
  // Connection. `server` may be comma-separated.
  server?: string | readonly string[];
  user?: string | null; password?: string | null; token?: string | null;
  nkeySeedFile?: string | null; credsFile?: string | null;
  tlsCaFile?: string | null; tlsCertFile?: string | null; tlsKeyFile?: string | null;
  connectTimeout?: Num;
  // Worker.
  stream?: string; tasks?: string; consumer?: string; concurrency?: Num;
  logLevel?: string; logFormat?: string;
  ackWait?: Num; grace?: Num; maxDeliveries?: Num; results?: Bool; resultTtl?: Num; events?: Bool;
  http?: string | null; name?: string; maxTasksPerChild?: Num | null;
  stallTimeout?: Num; spawnTimeout?: Num;
  // Task defaults. `null` or "none" means unlimited for the nullable ones.
  acksLate?: Bool; rejectOnWorkerLost?: Bool; acksOnFailureOrTimeout?: Bool;
  maxRetries?: Num | null; defaultRetryDelay?: Num;
  retryBackoff?: Bool | number; retryBackoffMax?: Num; retryJitter?: Bool;
  timeLimit?: Num | null; softTimeLimit?: Num | null; rateLimit?: Num | null; trackStarted?: Bool;
}

/** Worker-wide task options: every task starts from these and may override them. */
export type TaskDefaults = Omit<ResolvedTaskOptions, "autoretryFor" | "dontAutoretryFor" | "bind">;

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
  taskDefaults: TaskDefaults;
}

/** A config resolved for the worker: the tasks file is known. */
export interface WorkerConfig extends ResolvedConfig {
  tasks: string;
}

export interface ResolveContext {
  /** The environment variables, e.g. `process.env` or `Deno.env.toObject()`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values of the config file, parsed by the caller; unknown keys are rejected. */
  fileValues?: QwOptions;
  cpuCount: number;
  hostname: string;
  pid: number;
  /** "worker" (default) requires a tasks file; "client" commands do not. Both require a stream. */
  purpose?: "worker" | "client";
}

export const DEFAULT_SERVERS: readonly string[] = Object.freeze(["nats://127.0.0.1:4222"]);
export const DEFAULT_CONNECT_TIMEOUT = 30;
export const DEFAULT_CONSUMER_PREFIX = "qw_";
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
export const DEFAULT_LOG_FORMAT: LogFormat = "text";
export const DEFAULT_ACK_WAIT = 30;
export const DEFAULT_GRACE = 30;
export const DEFAULT_MAX_DELIVERIES = 5;
export const DEFAULT_RESULTS = true;
export const DEFAULT_EVENTS = true;
export const DEFAULT_RESULT_TTL = 86400;
export const DEFAULT_STALL_TIMEOUT = 30;
export const DEFAULT_SPAWN_TIMEOUT = 30;
export const DEFAULT_TASK_DEFAULTS: Readonly<TaskDefaults> = Object.freeze({
  acksLate: false, rejectOnWorkerLost: false, acksOnFailureOrTimeout: true,
  maxRetries: 3, defaultRetryDelay: 180, retryBackoff: 0, retryBackoffMax: 600, retryJitter: true,
  timeLimit: null, softTimeLimit: null, rateLimit: null, trackStarted: false,
});

type Key = keyof QwOptions;

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
  acksLate: "QW_ACKS_LATE", rejectOnWorkerLost: "QW_REJECT_ON_WORKER_LOST",
  acksOnFailureOrTimeout: "QW_ACKS_ON_FAILURE_OR_TIMEOUT",
  maxRetries: "QW_MAX_RETRIES", defaultRetryDelay: "QW_DEFAULT_RETRY_DELAY",
  retryBackoff: "QW_RETRY_BACKOFF", retryBackoffMax: "QW_RETRY_BACKOFF_MAX", retryJitter: "QW_RETRY_JITTER",
  timeLimit: "QW_TIME_LIMIT", softTimeLimit: "QW_SOFT_TIME_LIMIT", rateLimit: "QW_RATE_LIMIT", trackStarted: "QW_TRACK_STARTED",
});

/** A value for an error message: strings, numbers and booleans in double quotes. */
function show(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== "object") return JSON.stringify(String(value));
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A name for an error message in single quotes, control characters and line separators escaped: always one line. */
function quoteName(name: string): string {
  // deno-lint-ignore no-control-regex
  const escaped = name.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    return json === c ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : json;
  });
  return `'${escaped}'`;
}

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

const RATE_UNITS = new Map([["s", 1], ["m", 60], ["h", 3600]]);

function ratePerSecond(text: string): number | undefined {
  const [count, unit = "s", ...rest] = text.split("/").map((part) => part.trim());
  const seconds = RATE_UNITS.get(unit);
  if (rest.length > 0 || seconds === undefined || count === "") return undefined;
  const n = Number(count);
  return Number.isFinite(n) && n > 0 ? n / seconds : undefined;
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

const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off"];
const BOOL_TEXT = `a boolean ("true", "false", "1", "0", "yes", "no", "on" or "off")`;

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : undefined;
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  return typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
}

function isNone(value: unknown): boolean {
  return value === null || (typeof value === "string" && /^\s*(none|null)\s*$/i.test(value));
}

function isServerUrl(text: string): boolean {
  try {
    const url = new URL(text.includes("://") ? text : `nats://${text}`);
    return ["nats:", "tls:", "ws:", "wss:"].includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

interface NumberRule { int?: boolean; min: number; exclusive?: boolean }
/** A value and the name to blame for it: the option name, or the environment variable. */
interface Source { value: unknown; label: string }

/** Reads one option at a time from its sources, validating it. */
class Reader {
  constructor(
    readonly attempt: string,
    private readonly options: QwOptions,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly file: QwOptions,
  ) {}

  source(key: Key): Source | undefined {
    if (this.options[key] !== undefined) return { value: this.options[key], label: key };
    const fromEnv = this.env[ENV_VARS[key]];
    if (fromEnv !== undefined) return { value: fromEnv, label: ENV_VARS[key] };
    if (this.file[key] !== undefined) return { value: this.file[key], label: key };
    return undefined;
  }

  fail(Kind: typeof TypeError | typeof RangeError, src: Source, must: string, value: unknown = src.value): Error {
    return new Kind(`Cannot ${this.attempt} as '${src.label}' must be ${must}: current value is ${show(value)}`);
  }

  number<D extends number | null>(key: Key, fallback: D, rule: NumberRule, nullable = false): number | D {
    const src = this.source(key);
    if (src === undefined) return fallback;
    if (nullable && isNone(src.value)) return null as D;
    const what = `${rule.int ? "an integer" : "a number"} ${rule.exclusive ? ">" : ">="} ${rule.min}`;
    const must = nullable ? `${what} or "none"` : what;
    const n = toNumber(src.value);
    if (!Number.isFinite(n)) throw this.fail(TypeError, src, must);
    if ((rule.int && !Number.isInteger(n)) || n < rule.min || (rule.exclusive && n === rule.min)) {
      throw this.fail(RangeError, src, must);
    }
    return n;
  }

  boolean(key: Key, fallback: boolean): boolean {
    const src = this.source(key);
    if (src === undefined) return fallback;
    const b = toBoolean(src.value);
    if (b === undefined) throw this.fail(TypeError, src, BOOL_TEXT);
    return b;
  }

  string<D extends string | null>(key: Key, fallback: D, nullable = false): string | D {
    const src = this.source(key);
    if (src === undefined) return fallback;
    if (nullable && src.value === null) return null as D;
    if (typeof src.value !== "string" || src.value.trim() === "") throw this.fail(TypeError, src, "a non-empty string");
    return src.value;
  }

  choice<T extends string>(key: Key, choices: readonly T[], fallback: T): T {
    const src = this.source(key);
    if (src === undefined) return fallback;
    const must = `one of ${choices.map((c) => `"${c}"`).join(", ")}`;
    if (typeof src.value !== "string") throw this.fail(TypeError, src, must);
    const word = src.value.trim().toLowerCase() as T;
    if (!choices.includes(word)) throw this.fail(RangeError, src, must);
    return word;
  }

  servers(): string[] {
    const src = this.source("server");
    if (src === undefined) return [...DEFAULT_SERVERS];
    const must = "comma-separated NATS URLs (nats://, tls://, ws:// or wss://)";
    const parts: unknown[] = Array.isArray(src.value) ? src.value : [src.value];
    if (!parts.every((p) => typeof p === "string")) throw this.fail(TypeError, src, must);
    const list = (parts as string[]).flatMap((p) => p.split(",")).map((s) => s.trim()).filter((s) => s !== "");
    if (list.length === 0) throw this.fail(TypeError, src, must);
    const bad = list.find((s) => !isServerUrl(s));
    if (bad !== undefined) throw this.fail(RangeError, src, must, bad);
    return list;
  }

  http(): string | null {
    const src = this.source("http");
    if (src === undefined || isNone(src.value)) return null;
    const must = `"host:port" with a port from 0 to 65535, or "none"`;
    if (typeof src.value !== "string") throw this.fail(TypeError, src, must);
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(src.value.trim());
    if (m === null || Number(m[2]) > 65535) throw this.fail(RangeError, src, must);
    return src.value.trim();
  }

  retryBackoff(): number {
    const src = this.source("retryBackoff");
    if (src === undefined) return DEFAULT_TASK_DEFAULTS.retryBackoff;
    const b = toBoolean(src.value);
    if (b !== undefined) return b ? 1 : 0;
    const must = `"true", "false" or a factor >= 0`;
    const n = toNumber(src.value);
    if (!Number.isFinite(n)) throw this.fail(TypeError, src, must);
    if (n < 0) throw this.fail(RangeError, src, must);
    return n;
  }

  rateLimit(): string | null {
    const src = this.source("rateLimit");
    if (src === undefined || isNone(src.value)) return null;
    const must = `"N/s", "N/m" or "N/h" with N a positive number, or "none"`;
    if (typeof src.value !== "string" && typeof src.value !== "number") throw this.fail(TypeError, src, must);
    const text = String(src.value).trim();
    if (ratePerSecond(text) === undefined) throw this.fail(RangeError, src, must);
    return text;
  }

  required(key: "stream" | "tasks", flag: string): string {
    const value = this.string(key, null);
    if (value === null) {
      throw new TypeError(`Cannot ${this.attempt} as '${key}' is required (${flag} or ${ENV_VARS[key]}): no value is set`);
    }
    return value;
  }
}

function readTaskDefaults(r: Reader): TaskDefaults {
  const d = DEFAULT_TASK_DEFAULTS;
  return {
    acksLate: r.boolean("acksLate", d.acksLate),
    rejectOnWorkerLost: r.boolean("rejectOnWorkerLost", d.rejectOnWorkerLost),
    acksOnFailureOrTimeout: r.boolean("acksOnFailureOrTimeout", d.acksOnFailureOrTimeout),
    maxRetries: r.number("maxRetries", d.maxRetries, { int: true, min: 0 }, true),
    defaultRetryDelay: r.number("defaultRetryDelay", d.defaultRetryDelay, { min: 0 }),
    retryBackoff: r.retryBackoff(),
    retryBackoffMax: r.number("retryBackoffMax", d.retryBackoffMax, { min: 0, exclusive: true }),
    retryJitter: r.boolean("retryJitter", d.retryJitter),
    timeLimit: r.number("timeLimit", d.timeLimit, { min: 0, exclusive: true }, true),
    softTimeLimit: r.number("softTimeLimit", d.softTimeLimit, { min: 0, exclusive: true }, true),
    rateLimit: r.rateLimit(),
    trackStarted: r.boolean("trackStarted", d.trackStarted),
  };
}

/** Resolves only the worker-wide task defaults, with the precedence of {@linkcode resolveConfig}. */
export function resolveTaskDefaults(
  options: QwOptions,
  context: Pick<ResolveContext, "env" | "fileValues"> = {},
): TaskDefaults {
  return readTaskDefaults(new Reader("start worker", options, context.env ?? {}, context.fileValues ?? {}));
}

/**
 * Resolves and validates the configuration. Throws a one-line `TypeError`
 * (wrong kind of value, missing value) or `RangeError` (value out of range).
 * Errors name the environment variable when the value came from there.
 */
export function resolveConfig(options: QwOptions, context: ResolveContext & { purpose: "client" }): ResolvedConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext & { purpose?: "worker" }): WorkerConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext): ResolvedConfig;
export function resolveConfig(options: QwOptions, context: ResolveContext): ResolvedConfig {
  const worker = (context.purpose ?? "worker") === "worker";
  const attempt = worker ? "start worker" : "run command";
  const file = context.fileValues ?? {};
  for (const key of Object.keys(file)) {
    if (!Object.hasOwn(ENV_VARS, key)) {
      const value = (file as Record<string, unknown>)[key];
      throw new TypeError(`Cannot ${attempt} as config file key ${quoteName(key)} must be a known option: current value is ${show(value)}`);
    }
  }
  const r = new Reader(attempt, options, context.env ?? {}, file);
  const positive = { min: 0, exclusive: true };
  const cpus = Number.isFinite(context.cpuCount) ? Math.max(1, Math.floor(context.cpuCount)) : 1;

  const servers = r.servers();
  const text = (key: Key) => r.string(key, null, true);
  const stream = validateStreamName(r.required("stream", "--stream"), r.source("stream")!.label, attempt);
  const consumerSrc = r.source("consumer");
  const consumer = consumerSrc === undefined
    ? `${DEFAULT_CONSUMER_PREFIX}${stream}`
    : validateStreamName(consumerSrc.value, consumerSrc.label, attempt);
  const config: ResolvedConfig = {
    servers,
    user: text("user"), password: text("password"), token: text("token"),
    nkeySeedFile: text("nkeySeedFile"), credsFile: text("credsFile"),
    tlsCaFile: text("tlsCaFile"), tlsCertFile: text("tlsCertFile"), tlsKeyFile: text("tlsKeyFile"),
    connectTimeout: r.number("connectTimeout", DEFAULT_CONNECT_TIMEOUT, { min: 0 }),
    stream,
    tasks: worker ? r.required("tasks", "--tasks") : r.string("tasks", null),
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
    taskDefaults: readTaskDefaults(r),
  };
  if ((config.tlsCertFile === null) !== (config.tlsKeyFile === null)) {
    const [given, missing] = config.tlsCertFile === null ? ["tlsKeyFile", "tlsCertFile"] : ["tlsCertFile", "tlsKeyFile"];
    throw new TypeError(`Cannot ${attempt} as '${given}' and '${missing}' must be set together: current value of '${missing}' is null`);
  }
  return config;
}

function maskUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(":");
    return `${scheme}${colon === -1 ? "***" : `${auth.slice(0, colon)}:***`}@`;
  });
}

/** The config as plain data for `--print-config`: password, token and URL credentials become "***". */
export function maskSecrets(config: ResolvedConfig): Record<string, unknown> {
  return {
    ...config,
    servers: config.servers.map(maskUrl),
    password: config.password === null ? null : "***",
    token: config.token === null ? null : "***",
    taskDefaults: { ...config.taskDefaults },
  };
}
