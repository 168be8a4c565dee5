/**
 * The option reader behind config.ts: one option at a time from the explicit
 * options, the environment or the config file, validated, with errors naming
 * where the bad value came from. Private to config.ts. The defaults and the
 * variable names stay in config.ts and are passed in, so imports only run from
 * config.ts to here.
 *
 * @module
 */

import type { OptionKey as Key, QwOptions } from "./options.ts";

/** A value for an error message: strings, numbers and booleans in double quotes. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== "object") return JSON.stringify(String(value));
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A name for an error message in single quotes, control characters and line separators escaped: always one line. */
export function quoteName(name: string): string {
  // deno-lint-ignore no-control-regex
  const escaped = name.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    return json === c ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : json;
  });
  return `'${escaped}'`;
}

const RATE_UNITS = new Map([["s", 1], ["m", 60], ["h", 3600]]);

/** Jobs per second of a Celery rate limit such as "10/m", or undefined if the text is not one. */
export function ratePerSecond(text: string): number | undefined {
  const [count, unit = "s", ...rest] = text.split("/").map((part) => part.trim());
  const seconds = RATE_UNITS.get(unit);
  if (rest.length > 0 || seconds === undefined || count === "") return undefined;
  const n = Number(count);
  return Number.isFinite(n) && n > 0 ? n / seconds : undefined;
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
export class Reader {
  constructor(
    readonly attempt: string,
    private readonly options: QwOptions,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly file: QwOptions,
    private readonly envVars: { readonly [K in Key]-?: string },
  ) {}

  source(key: Key): Source | undefined {
    if (this.options[key] !== undefined) return { value: this.options[key], label: key };
    const fromEnv = this.env[this.envVars[key]];
    if (fromEnv !== undefined) return { value: fromEnv, label: this.envVars[key] };
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

  servers(fallback: readonly string[]): string[] {
    const src = this.source("server");
    if (src === undefined) return [...fallback];
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

  retryBackoff(fallback: number): number {
    const src = this.source("retryBackoff");
    if (src === undefined) return fallback;
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
      throw new TypeError(`Cannot ${this.attempt} as '${key}' is required (${flag} or ${this.envVars[key]}): no value is set`);
    }
    return value;
  }
}
