/**
 * One line for a module that failed to load: where the first error is
 * (file:line:column) and what it says. Bun throws a BuildMessage or
 * ResolveMessage with a `position`, or an AggregateError of them ("2 errors
 * building ..."), whose own message has no location; Deno puts the location
 * in the message text after the source excerpt. Pure.
 *
 * @module
 */

interface Position {
  file?: unknown;
  line?: unknown;
  column?: unknown;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** The last "at FILE:LINE:COLUMN" of a message, as Deno writes it below the excerpt. */
const AT = /\bat (\S+?):(\d+):(\d+)\s*$/;

function messageOf(e: unknown): string {
  if (e instanceof Error || (typeof e === "object" && e !== null && "message" in e)) {
    return String((e as { message: unknown }).message);
  }
  return String(e);
}

/** A file URL as a path; anything else as it is. */
export function displayPath(file: string): string {
  if (!file.startsWith("file://")) return file;
  try {
    return decodeURIComponent(new URL(file).pathname);
  } catch {
    return file;
  }
}

function located(message: string, position: Position | null | undefined): string | null {
  if (position === null || typeof position !== "object") return null;
  const { file, line, column } = position;
  if (typeof file !== "string" || typeof line !== "number" || typeof column !== "number") return null;
  return `${displayPath(file)}:${line}:${column}: ${message}`;
}

/** The first error of a failed import as `file:line:column: message` when the location is known, else its first line. */
export function loadErrorText(e: unknown): string {
  const list = typeof e === "object" && e !== null && Array.isArray((e as { errors?: unknown }).errors)
    ? (e as { errors: unknown[] }).errors
    : [];
  const first = list.length > 0 ? list[0] : e;
  const more = list.length > 1 ? ` (and ${list.length - 1} more error${list.length > 2 ? "s" : ""})` : "";
  const text = messageOf(first).replace(ANSI, "");
  const head = text.split("\n")[0].trim();
  const position = typeof first === "object" && first !== null ? (first as { position?: Position }).position : undefined;
  const fromPosition = located(head, position);
  if (fromPosition !== null) return fromPosition + more;
  const at = AT.exec(text);
  if (at !== null && text.includes("\n")) return `${displayPath(at[1])}:${at[2]}:${at[3]}: ${head}${more}`;
  return (head === "" ? messageOf(e).split("\n")[0] : head) + more;
}
