/**
 * What an option's value must be, as small pure rules shared by the config
 * (flags, environment, config file: `loose`, where numbers and booleans may be
 * text) and the tasks file (strict: a boolean is `true` or `false`). A rule
 * returns the value to use, or what the value must be.
 *
 * @module
 */

/** A checked value, or what it must be and whether only its range was wrong. */
export type Checked = { ok: true; value: unknown } | { ok: false; must: string; range: boolean };

/** Checks one value; `loose` accepts text for numbers and booleans, and "none" for null. */
export type ValueRule = (value: unknown, loose: boolean) => Checked;

/** A value for an error message: strings, numbers and booleans in double quotes. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") return value.name === "" ? "a function" : `function ${value.name}`;
  if (typeof value !== "object") return JSON.stringify(String(value));
  try {
    return JSON.stringify(value, (_k, v) => typeof v === "function" ? `<function ${v.name}>` : v) ?? String(value);
  } catch {
    return String(value);
  }
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

function toBoolean(value: unknown, loose: boolean): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (!loose || typeof value !== "string") return undefined;
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : undefined;
}

function toNumber(value: unknown, loose: boolean): number {
  if (typeof value === "number") return value;
  return loose && typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
}

/** `null`, or in loose mode the words "none" and "null". */
export function isNone(value: unknown, loose = true): boolean {
  return value === null || (loose && typeof value === "string" && /^\s*(none|null)\s*$/i.test(value));
}

const ok = (value: unknown): Checked => ({ ok: true, value });
const wrongType = (must: string): Checked => ({ ok: false, must, range: false });
const wrongRange = (must: string): Checked => ({ ok: false, must, range: true });
const orNone = (loose: boolean) => loose ? ` or "none"` : " or null";

/** `true` or `false` (and in loose mode their words). */
export const booleanRule: ValueRule = (value, loose) => {
  const b = toBoolean(value, loose);
  return b === undefined ? wrongType(loose ? BOOL_TEXT : "true or false") : ok(b);
};

/** The bounds of a number. */
export interface NumberBounds {
  int?: boolean;
  min: number;
  /** The minimum itself is out of range. */
  exclusive?: boolean;
  /** `null` (or "none") is a value: unlimited. */
  nullable?: boolean;
}

/** A finite number within bounds. */
export function numberRule(bounds: NumberBounds): ValueRule {
  const what = `${bounds.int ? "an integer" : "a number"} ${bounds.exclusive ? ">" : ">="} ${bounds.min}`;
  return (value, loose) => {
    if (bounds.nullable && isNone(value, loose)) return ok(null);
    const must = bounds.nullable ? what + orNone(loose) : what;
    const n = toNumber(value, loose);
    if (!Number.isFinite(n)) return wrongType(must);
    if ((bounds.int && !Number.isInteger(n)) || n < bounds.min || (bounds.exclusive && n === bounds.min)) return wrongRange(must);
    return ok(n);
  };
}

/** `retryBackoff`: a boolean or a factor >= 0. Loose mode gives the factor (true is 1); strict keeps the value. */
export const backoffRule: ValueRule = (value, loose) => {
  const must = loose ? `"true", "false" or a factor >= 0` : "true, false or a factor >= 0";
  const b = toBoolean(value, loose);
  if (b !== undefined) return ok(loose ? (b ? 1 : 0) : b);
  const n = toNumber(value, loose);
  if (!Number.isFinite(n)) return wrongType(must);
  return n < 0 ? wrongRange(must) : ok(n);
};

/** A Celery rate limit ("10/s", "100/m", "1000/h"; a bare number is per second), or null. */
export const rateLimitRule: ValueRule = (value, loose) => {
  if (isNone(value, loose)) return ok(null);
  const must = `"N/s", "N/m" or "N/h" with N a positive number${loose ? `, or "none"` : ", or null"}`;
  if (typeof value !== "string" && typeof value !== "number") return wrongType(must);
  const text = String(value).trim();
  return ratePerSecond(text) === undefined ? wrongRange(must) : ok(text);
};
