/**
 * One line for a module that failed to load: where the first error is
 * (file:line:column) and what it says. Bun throws a BuildMessage or
 * ResolveMessage with a `position`, or an AggregateError of them ("2 errors
 * building ..."), whose own message has no location; Deno puts the location
 * in the message text after the source excerpt. An error thrown while the
 * module runs says its name, its message and where in the user's code it was
 * thrown. Pure.
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

/** file:line:column in a stack line, V8's ("at f (file:1:2)") or JavaScriptCore's ("f@file:1:2"). */
const FRAME = /(?:\(|@|\bat\s+)((?:file:\/\/)?(?:\/|[A-Za-z]:[\\/])[^\s()@]*?):(\d+):(\d+)\)?\s*$/;
/** Frames of the runtime itself or of qw's own bundled code, which say nothing about the user's code. */
const NOT_USER = /\bext:|\bnode:|\[native code\]|\/\$bunfs\/|\/~BUN\//;

/**
 * The first frame of a stack that lies in the user's code, as `file:line:column`:
 * not the runtime's, not qw's bundled code, and outside node_modules when any
 * frame is. Null when there is none.
 */
export function userFrame(stack: unknown): string | null {
  if (typeof stack !== "string") return null;
  const frames: string[] = [];
  for (const line of stack.replace(ANSI, "").split("\n")) {
    if (NOT_USER.test(line)) continue;
    const m = FRAME.exec(line.trim());
    if (m !== null) frames.push(`${displayPath(m[1])}:${m[2]}:${m[3]}`);
  }
  return frames.find((f) => !/[\\/]node_modules[\\/]/.test(f)) ?? frames[0] ?? null;
}

/** An error as one line: `Name: first line of the message (at file:line:column)`, the frame from {@linkcode userFrame}. */
export function errorLine(e: { name?: unknown; message?: unknown; stack?: unknown }): string {
  const name = typeof e.name === "string" && e.name !== "" ? e.name : "Error";
  const message = String(e.message ?? "").replace(ANSI, "").split("\n")[0].trim();
  const frame = userFrame(e.stack);
  return `${name}: ${message}${frame === null ? "" : ` (at ${frame})`}`;
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
  // Thrown by the module's own code as it ran: say what and where.
  if (first === e && !(e instanceof AggregateError) && position === undefined && e instanceof Error && userFrame(e.stack) !== null) return errorLine(e);
  return (head === "" ? messageOf(e).split("\n")[0] : head) + more;
}
