/**
 * Job priorities: 0 (lowest) to 9, default 5. A job of the default priority
 * goes on `<stream>.<task>` as always; any other on `<stream>.p<N>.<task>`,
 * which a durable consumer of its own serves. This file holds the subject
 * rules and the pull policy: which level the next pull goes to, given which
 * levels may have work waiting and what each got recently. Pure.
 *
 * Policy: highest waiting level first, with a floor. Once `FLOOR_EVERY` jobs
 * were taken from the highest waiting level while a lower one waited, the
 * next pull goes to the lower waiting level served longest ago. So a stream
 * busy with priority 9 still gives one job in `FLOOR_EVERY` to the rest, and
 * among the rest every waiting level takes its turn: nothing starves.
 *
 * @module
 */

/** The lowest priority. */
export const MIN_PRIORITY = 0;
/** The highest priority. */
export const MAX_PRIORITY = 9;
/** The priority of a job that names none, and of every job on a plain `<stream>.<task>` subject. */
export const DEFAULT_PRIORITY = 5;
/** Levels, lowest first. */
export const PRIORITY_LEVELS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
/** After this many jobs from the highest waiting level, one pull goes to a lower waiting level. */
export const FLOOR_EVERY = 8;

/** Whether `value` is a priority (a whole number from 0 to 9). */
export function isPriority(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= MIN_PRIORITY && value <= MAX_PRIORITY;
}

/** A priority, or a RangeError that says which value was wrong. */
export function checkPriority(value: unknown, what = "priority"): number {
  if (isPriority(value)) return value;
  const shown = typeof value === "string" ? `"${value}"` : String(value);
  throw new RangeError(`Cannot use '${what}' as it must be a whole number from 0 to 9: current value is ${shown}`);
}

/** The subject token of a non-default level (`p<N>`); null for the default one (plain subject). */
export function priorityToken(priority: number): string | null {
  return priority === DEFAULT_PRIORITY ? null : `p${priority}`;
}

/**
 * The priority and task of what follows `<stream>.` in a job's subject:
 * `p<N>.<task>` or a plain `<task>`. Task names have no dots, so a plain task
 * named `p1` stays a task.
 */
export function splitPrioritySubject(rest: string): { priority: number; task: string } {
  if (rest.length > 3 && rest[0] === "p" && rest[2] === ".") {
    const n = rest.charCodeAt(1) - 48;
    if (n >= 0 && n <= 9) return { priority: n, task: rest.slice(3) };
  }
  return { priority: DEFAULT_PRIORITY, task: rest };
}

/** The priority of a job from its whole subject (`<stream>.p<N>.<task>` or `<stream>.<task>`; stream names have no dots). */
export function priorityOfSubject(subject: string): number {
  return splitPrioritySubject(subject.slice(subject.indexOf(".") + 1)).priority;
}

/** What the policy remembers between pulls. */
export interface PullHistory {
  /** Jobs taken from the highest waiting level since a lower one last got a pull. */
  sinceFloor: number;
  /** Per level, the pull count when it last got a pull (-1: never). */
  servedAt: readonly number[];
  /** Pulls so far. */
  pulls: number;
}

/** A history with nothing taken yet. */
export function freshHistory(): PullHistory {
  return { sinceFloor: 0, servedAt: PRIORITY_LEVELS.map(() => -1), pulls: 0 };
}

/**
 * Where the next pull goes: `floor` when it is a lower level's turn; `contested` when a lower level waits too;
 * `max` the most jobs it may ask for (the rest of the floor's count, one for a floor turn), so that a deep pull
 * cannot take the lower levels' turns.
 */
export interface LevelChoice {
  level: number;
  floor: boolean;
  contested: boolean;
  max: number;
}

/**
 * The level the next pull goes to, or null when no level may have work.
 * `waiting[l]` says whether level `l` may have jobs waiting.
 */
export function chooseLevel(waiting: readonly boolean[], h: PullHistory, every = FLOOR_EVERY): LevelChoice | null {
  let top = -1;
  for (let l = MAX_PRIORITY; l >= MIN_PRIORITY; l--) {
    if (waiting[l]) {
      top = l;
      break;
    }
  }
  if (top < 0) return null;
  let pick = -1;
  for (let l = top - 1; l >= MIN_PRIORITY; l--) {
    if (waiting[l] && (pick < 0 || h.servedAt[l] < h.servedAt[pick])) pick = l;
  }
  if (pick < 0) return { level: top, floor: false, contested: false, max: Infinity };
  return h.sinceFloor < every
    ? { level: top, floor: false, contested: true, max: every - h.sinceFloor }
    : { level: pick, floor: true, contested: true, max: 1 };
}

/** The history after a job came from a pull chosen as `choice`: it counts toward the floor, or ends a floor turn. */
export function recordTaken(h: PullHistory, choice: LevelChoice): PullHistory {
  if (choice.floor) return h.sinceFloor === 0 ? h : { ...h, sinceFloor: 0 };
  return choice.contested ? { ...h, sinceFloor: h.sinceFloor + 1 } : h;
}

/**
 * The history after a pull went to `choice.level`. Its jobs count as they come ({@linkcode recordTaken}): a floor
 * turn that finds its level empty leaves the turn to the next lower level served longest ago.
 */
export function recordPull(h: PullHistory, choice: LevelChoice): PullHistory {
  const servedAt = h.servedAt.slice();
  servedAt[choice.level] = h.pulls;
  return { ...h, servedAt, pulls: h.pulls + 1 };
}
