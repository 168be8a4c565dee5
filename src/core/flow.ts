/**
 * Workflows as data, and how they advance. Pure: no NATS, no clock.
 *
 * A flow is a tree of steps: a signature (`sig`: a task and its args), a
 * `chain` (each result is the first argument of the next step), a `group`
 * (members run in parallel; its result is the list of theirs, in order) and a
 * `chord` (a group whose list is the first argument of its body). As in
 * Celery, a chain flattens nested chains, and a group followed by a step in a
 * chain is a chord.
 *
 * Every step is a normal job; what happens after it (its continuation,
 * {@linkcode Then}) travels in its message, so whichever process finishes it
 * can advance the flow without asking anyone. Steps have stable paths: the
 * task id of a step is `<flow id><path>`, e.g. `f1.0`, `f1.1.3`, `f1.1.body`.
 *
 * @module
 */

/** A step: a task and its args; `immutable` steps take no parent result (Celery's `si`). */
export interface SigNode {
  task: string;
  args: unknown[];
  immutable?: boolean;
}

/** A flow, as it travels: plain JSON (a {@linkcode Signature} becomes a {@linkcode SigNode}). */
export type FlowNode =
  | SigNode
  | Signature
  | { chain: FlowNode[] }
  | { group: FlowNode[] }
  | { chord: { header: FlowNode[]; body: FlowNode } };

/** What follows a node's result. */
export type Then =
  | { done: true }
  | { chain: FlowNode[]; at: number; path: string; then: Then }
  | { join: string; index: number; n: number; body: FlowNode | null; then: Then };

/** A step to publish: a job of `task` with task id `<flow id><path>`. */
export interface StepJob {
  task: string;
  args: unknown[];
  path: string;
  then: Then;
}

/** What a finished step (or a flow's start) leads to. */
export type FlowAction =
  | { kind: "run"; step: StepJob }
  | { kind: "join"; join: string; index: number; n: number; value: unknown; body: FlowNode | null; then: Then }
  | { kind: "done"; value: unknown };

/** A signature as `sig()` builds it, with Celery's `.immutable()` (`si`). */
export interface Signature {
  task: string;
  args: unknown[];
  /** The same step, taking no parent result. */
  immutable(): SigNode;
}

/** A step: task `task` with `args`. */
export function sig(task: string, args: unknown[] = []): Signature {
  const node = { task, args } as Signature;
  Object.defineProperty(node, "immutable", { value: (): SigNode => ({ task, args, immutable: true }), enumerable: false });
  return node;
}

/** Steps in sequence; each result is the first argument of the next. */
export const chain = (...steps: FlowNode[]): FlowNode => ({ chain: steps });
/** Steps in parallel; the result is the list of their results, in order. */
export const group = (...members: FlowNode[]): FlowNode => ({ group: members });
/** A group whose list of results is the first argument of `body`. */
export function chord(header: FlowNode | FlowNode[], body: FlowNode): FlowNode {
  const members = Array.isArray(header) ? header : "group" in header ? header.group : [header];
  return { chord: { header: members, body } };
}

const isSig = (n: FlowNode): n is SigNode | Signature => typeof (n as SigNode).task === "string";
const isImmutable = (n: SigNode | Signature): boolean => (n as { immutable?: unknown }).immutable === true;
// deno-lint-ignore no-control-regex
const BAD_TASK = /[\s.*>\x00-\x1f\x7f]/;

/**
 * Check a flow and bring it to its canonical form: nested chains flattened, a
 * group followed by a step in a chain turned into a chord. Throws a one-line
 * TypeError naming the path of what is wrong. Pure.
 */
export function normalizeFlow(node: unknown, path = ""): FlowNode {
  const where = path === "" ? "the flow" : `step '${path}'`;
  const fail = (must: string): never => {
    throw new TypeError(`Cannot start flow as ${where} must be ${must}: current value is ${show(node)}`);
  };
  if (node === null || typeof node !== "object") return fail("a sig, chain, group or chord");
  const n = node as Record<string, unknown>;
  if (typeof n.task === "string") {
    if (n.task === "" || BAD_TASK.test(n.task) || n.task.startsWith("_")) return fail("a task name without whitespace, '.', '*', '>' or a leading '_'");
    if (!Array.isArray(n.args)) return fail("a sig with an 'args' array");
    return n.immutable === true ? { task: n.task, args: n.args, immutable: true } : { task: n.task, args: n.args };
  }
  if (Array.isArray(n.chain)) {
    const flat: FlowNode[] = [];
    n.chain.forEach((s, i) => {
      const c = normalizeFlow(s, `${path}.${i}`);
      if ("chain" in c) flat.push(...c.chain);
      else flat.push(c);
    });
    const out: FlowNode[] = [];
    for (let i = 0; i < flat.length; i++) {
      const s = flat[i];
      if ("group" in s && i + 1 < flat.length) out.push({ chord: { header: s.group, body: flat[++i] } });
      else out.push(s);
    }
    return { chain: out };
  }
  if (Array.isArray(n.group)) return { group: n.group.map((m, i) => normalizeFlow(m, `${path}.${i}`)) };
  const c = n.chord as { header?: unknown; body?: unknown } | undefined;
  if (c && typeof c === "object" && Array.isArray(c.header)) {
    return { chord: { header: c.header.map((m, i) => normalizeFlow(m, `${path}.${i}`)), body: normalizeFlow(c.body, `${path}.body`) } };
  }
  return fail("a sig ({task, args}), {chain: [...]}, {group: [...]} or {chord: {header: [...], body}}");
}

/** Every task a flow names, to check them before it starts. Pure. */
export function flowTasks(node: FlowNode): string[] {
  if (isSig(node)) return [node.task];
  if ("chain" in node) return node.chain.flatMap(flowTasks);
  if ("group" in node) return node.group.flatMap(flowTasks);
  return [...node.chord.header.flatMap(flowTasks), ...flowTasks(node.chord.body)];
}

/** The actions that start a flow: the root is a chain of one or more steps, so its first step is `.0`. Pure. */
export function startFlow(node: FlowNode): FlowAction[] {
  return start("chain" in node ? node : { chain: [node] }, "", null, { done: true });
}

/** Start `node` at `path`; `parent` holds the result it receives, if any. Pure. */
export function start(node: FlowNode, path: string, parent: { value: unknown } | null, then: Then): FlowAction[] {
  if (isSig(node)) {
    const args = parent !== null && !isImmutable(node) ? [parent.value, ...node.args] : node.args;
    return [{ kind: "run", step: { task: node.task, args, path, then } }];
  }
  if ("chain" in node) {
    const steps = node.chain;
    if (steps.length === 0) return continueWith(then, parent?.value ?? null);
    const next: Then = steps.length > 1 ? { chain: steps, at: 1, path, then } : then;
    return start(steps[0], `${path}.0`, parent, next);
  }
  const members = "group" in node ? node.group : node.chord.header;
  const body = "group" in node ? null : node.chord.body;
  if (members.length === 0) return body === null ? continueWith(then, []) : start(body, `${path}.body`, { value: [] }, then);
  const n = members.length;
  return members.flatMap((m, index) => start(m, `${path}.${index}`, parent, { join: path, index, n, body, then }));
}

/** What follows a result `value` under continuation `then`. Pure. */
export function continueWith(then: Then, value: unknown): FlowAction[] {
  if ("done" in then) return [{ kind: "done", value }];
  if ("chain" in then) {
    const { chain: steps, at, path } = then;
    const next: Then = at + 1 < steps.length ? { ...then, at: at + 1 } : then.then;
    return start(steps[at], `${path}.${at}`, { value }, next);
  }
  const { join, index, n, body } = then;
  return [{ kind: "join", join, index, n, value, body, then: then.then }];
}

/**
 * The state of a group's join, kept in KV and updated with compare-and-set:
 * which members finished, as a bitset, so the value stays small however large
 * the group (each member's result is kept under its own key).
 */
export interface JoinState {
  n: number;
  /** Member i finished when bit i is set: hex digits, lowest bits first. */
  done: string;
  /** The task id of the first member that failed: the body never runs. */
  failed?: string;
}

const bitsOf = (hex: string, n: number): number[] => {
  const out = new Array<number>(Math.ceil(n / 4)).fill(0);
  for (let i = 0; i < out.length && i < hex.length; i++) out[i] = parseInt(hex[i], 16) || 0;
  return out;
};

/** How many members finished. Pure. */
export function joinCount(s: JoinState): number {
  let c = 0;
  for (const d of bitsOf(s.done, s.n)) c += (d & 1) + ((d >> 1) & 1) + ((d >> 2) & 1) + ((d >> 3) & 1);
  return c;
}

/**
 * Mark member `index` finished. Idempotent: a member marked before (its
 * message redelivered after a crash) changes nothing. `complete` is true for
 * every call that sees all n members and no failure, so a repeated last
 * member publishes the body again, which the stream's dedup drops. Pure.
 */
export function joinAdd(state: JoinState | null, index: number, n: number): { state: JoinState; changed: boolean; complete: boolean } {
  const s: JoinState = state ?? { n, done: "" };
  const digits = bitsOf(s.done, s.n);
  const bit = 1 << (index % 4);
  const changed = (digits[index >> 2] & bit) === 0;
  digits[index >> 2] |= bit;
  const next = changed ? { ...s, done: digits.map((d) => d.toString(16)).join("") } : s;
  const complete = next.failed === undefined && joinCount(next) === next.n;
  return { state: next, changed, complete };
}

/** What follows a complete join: its body with the list, or the list itself. Pure. */
export function afterJoin(a: Extract<FlowAction, { kind: "join" }>, results: unknown[]): FlowAction[] {
  return a.body === null ? continueWith(a.then, results) : start(a.body, `${a.join}.body`, { value: results }, a.then);
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 120 ? s.slice(0, 120) + "..." : s;
  } catch {
    return String(v);
  }
}
