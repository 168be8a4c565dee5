/**
 * The body of the dashboard's `POST /api/pause` and `POST /api/resume`,
 * checked: `{"task": "T", "until": "2030-01-31T12:00:00Z"}`, both optional
 * (no task: the whole stream; no until: until resumed; resume takes no until).
 * Pure.
 *
 * @module
 */

import { parseUntil } from "../../core/pause.ts";

/** What to pause or resume, or a one-line reason the body is wrong. Pure. */
export function pauseRequest(action: "pause" | "resume", body: string, now: number): { task: string | null; until: number | null } | string {
  let v: unknown = {};
  if (body.trim() !== "") {
    try {
      v = JSON.parse(body);
    } catch {
      v = undefined;
    }
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return `Cannot ${action} as the body must be JSON like {"task": "add"${action === "pause" ? ', "until": "2030-01-31T12:00:00Z"' : ""}}: current value is ${JSON.stringify(body.slice(0, 80))}`;
  }
  const o = v as { task?: unknown; until?: unknown };
  const task = o.task === undefined || o.task === null || o.task === "" ? null : o.task;
  if (task !== null && (typeof task !== "string" || !/^[^\s.*>]+$/.test(task))) {
    return `Cannot ${action} as 'task' must be a task name (one subject token): current value is ${JSON.stringify(o.task)}`;
  }
  if (action === "resume" || o.until === undefined || o.until === null || o.until === "") return { task, until: null };
  if (typeof o.until !== "string") return `Cannot pause as 'until' must be a date string: current value is ${JSON.stringify(o.until)}`;
  const until = parseUntil(o.until, now);
  if (typeof until === "string") return `Cannot pause as ${until.replace("'--until'", "'until'")}`;
  return { task, until };
}
