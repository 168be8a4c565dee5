/**
 * Reading one entry of a KV bucket of JSON records (revokes, pauses): a
 * removal (a delete, a purge or the server's marker of an expired key), text
 * that is not JSON, or a JSON object for the caller to check field by field.
 * Pure.
 *
 * @module
 */

/** What one entry holds before its fields are checked. */
export type KvObject =
  | { kind: "removed" }
  | { kind: "not_json"; reason: string }
  | { kind: "not_object"; text: string }
  | { kind: "object"; value: Record<string, unknown>; text: string };

/** Read an entry (`operation` is "PUT" for a value) as a JSON object, or say why it is not one. */
export function readKvObject(e: { operation: string; string(): string }): KvObject {
  if (e.operation !== "PUT") return { kind: "removed" };
  const text = e.string();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: "not_json", reason: `not JSON: ${JSON.stringify(text.slice(0, 40))}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { kind: "not_object", text };
  return { kind: "object", value: v as Record<string, unknown>, text };
}
