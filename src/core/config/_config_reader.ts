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
import { booleanRule, isNone, numberRule, type NumberBounds, show, type ValueRule } from "./value_rules.ts";

export { ratePerSecond, show } from "./value_rules.ts";

/** A name for an error message in single quotes, control characters and line separators escaped: always one line. */
export function quoteName(name: string): string {
  // deno-lint-ignore no-control-regex
  const escaped = name.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    return json === c ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : json;
  });
  return `'${escaped}'`;
}

function isServerUrl(text: string): boolean {
  try {
    const url = new URL(text.includes("://") ? text : `nats://${text}`);
    return ["nats:", "tls:", "ws:", "wss:"].includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

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

  /** The value of `src` as `rule` reads it (loose: from text), or the error naming `src`. */
  check(src: Source, rule: ValueRule): unknown {
    const c = rule(src.value, true);
    if (!c.ok) throw this.fail(c.range ? RangeError : TypeError, src, c.must);
    return c.value;
  }

  number<D extends number | null>(key: Key, fallback: D, bounds: Omit<NumberBounds, "nullable">, nullable = false): number | D {
    const src = this.source(key);
    return src === undefined ? fallback : this.check(src, numberRule({ ...bounds, nullable })) as number | D;
  }

  boolean(key: Key, fallback: boolean): boolean {
    const src = this.source(key);
    return src === undefined ? fallback : this.check(src, booleanRule) as boolean;
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

  /** An http:// or https:// URL; null when unset, empty or "none". */
  httpUrl(key: Key): string | null {
    const src = this.source(key);
    if (src === undefined || isNone(src.value) || src.value === "") return null;
    const must = `an http:// or https:// URL, or "none"`;
    if (typeof src.value !== "string") throw this.fail(TypeError, src, must);
    let url: URL | null = null;
    try {
      url = new URL(src.value.trim());
    } catch { /* reported below */ }
    if (url === null || !["http:", "https:"].includes(url.protocol)) throw this.fail(RangeError, src, must);
    return src.value.trim();
  }

  required(key: "stream" | "tasks", flag: string): string {
    const value = this.string(key, null);
    if (value === null) {
      throw new TypeError(`Cannot ${this.attempt} as '${key}' is required (${flag} or ${this.envVars[key]}): no value is set`);
    }
    return value;
  }
}
