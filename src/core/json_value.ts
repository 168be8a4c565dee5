/**
 * A task's return value as JSON can hold it, for the results bucket. Structured
 * clone carries a Map, a Set, a BigInt or a typed array back from the Web
 * Worker, but JSON.stringify turns a Map or Set into `{}`, a typed array into
 * an object of indices, and throws on a BigInt. The encoding, documented in the
 * README: a Map becomes an array of [key, value] pairs, a Set an array, a
 * BigInt its decimal string, a typed array an array of numbers and a repeated
 * reference to an enclosing object "[Circular]". Pure.
 *
 * @module
 */

/** The value to store, and what was converted (the first such thing found), or null when nothing was. */
export interface JsonValue {
  value: unknown;
  converted: string | null;
}

/** True when JSON.stringify stores `v` as it is: nothing to convert (no copy needed). */
function isPlain(v: unknown, ancestors: Set<object>): boolean {
  if (typeof v === "bigint") return false;
  if (v === null || typeof v !== "object" || v instanceof Date) return true;
  if (ancestors.has(v) || v instanceof Map || v instanceof Set || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return false;
  ancestors.add(v);
  try {
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (!isPlain(x, ancestors)) return false;
    return true;
  } finally {
    ancestors.delete(v);
  }
}

/** Converts `value` into something `JSON.stringify` stores faithfully, saying what it changed. */
export function toJsonValue(value: unknown): JsonValue {
  // Most results need nothing: read them once instead of copying them.
  if (isPlain(value, new Set())) return { value, converted: null };
  let converted: string | null = null;
  const note = (what: string) => void (converted ??= what);
  const ancestors = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "bigint") {
      note("a BigInt (stored as its decimal string)");
      return v.toString();
    }
    if (v === null || typeof v !== "object") return v;
    if (ancestors.has(v)) {
      note("a circular reference (stored as \"[Circular]\")");
      return "[Circular]";
    }
    if (v instanceof Date) return v;
    ancestors.add(v);
    try {
      if (v instanceof Map) {
        note("a Map (stored as an array of [key, value] pairs)");
        return [...v].map(([k, x]) => [walk(k), walk(x)]);
      }
      if (v instanceof Set) {
        note("a Set (stored as an array)");
        return [...v].map(walk);
      }
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        note("a typed array (stored as an array of numbers)");
        return Array.from(v as unknown as ArrayLike<number | bigint>, walk);
      }
      if (Array.isArray(v)) return v.map(walk);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    } finally {
      ancestors.delete(v);
    }
  };
  const result = walk(value);
  return { value: result, converted };
}
