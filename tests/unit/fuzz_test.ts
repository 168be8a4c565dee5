/**
 * Property tests (fast-check) of the code that meets untrusted input: the
 * command line parser, config resolution, the error serializer that carries
 * whatever a task throws across the Web Worker boundary, and the ack
 * decision. Runs are bounded (RUNS each) and seeded by fast-check; a failure
 * prints the seed and the shrunk counterexample.
 *
 *   node_modules/.bin/bun test tests/unit/fuzz_test.ts
 *   node_modules/.bin/deno test -A tests/unit/fuzz_test.ts
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCliArgs } from "../../src/cli/args.ts";
import { COMMAND_FLAGS, COMMANDS, CONNECTION_FLAGS, GENERAL_FLAGS, TASK_FLAGS, WORKER_FLAGS } from "../../src/cli/help.ts";
import { ENV_VARS, type QwOptions, resolveConfig, type ResolveContext } from "../../src/core/config/config.ts";
import { deserializeError, serializeError } from "../../src/worker/pool/protocol.ts";
import { type AckPolicy, decideAck, type Outcome } from "../../src/core/job/ack_policy.ts";
import type { SerializedError } from "../../src/core/types.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
/** Runs per property; QW_FUZZ_RUNS=5000 for a longer hunt. */
const RUNS = Number(env.QW_FUZZ_RUNS) || 200;
const params = { numRuns: RUNS };

const oneLine = (s: string) => !/[\r\n]/.test(s);

// ---------------------------------------------------------------------------
// parseCliArgs

const flagNames = [
  ...[...CONNECTION_FLAGS, ...WORKER_FLAGS, ...TASK_FLAGS].map((f) => f.name),
  ...[...COMMAND_FLAGS, ...GENERAL_FLAGS].map((f) => f.name),
];
const shorts = [...COMMAND_FLAGS, ...GENERAL_FLAGS].flatMap((f) => (f.short ? [`-${f.short}`] : []));

/** Strings a user or a script could pass, including hostile ones. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", " ", "-", "--", "---", "=", "-1", "1e309", "NaN", "none", "true", "\n", "a\nb", "\u0000", "\u001b[31m"),
  fc.integer().map(String),
  fc.double().map(String),
);

/** One argv element: a real flag (maybe with an inline value), a command, a short flag or any text. */
const arg = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...flagNames).map((n) => `--${n}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...flagNames), text).map(([n, v]) => `--${n}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom(...COMMANDS, "help", "ls", "show", "replay", "purge") },
  { weight: 1, arbitrary: fc.constantFrom(...shorts, "-x", "-hV", "-Vh") },
  { weight: 3, arbitrary: text },
);

describe("fuzz: parseCliArgs()", () => {
  it("never throws and returns one of its kinds; errors are one line", () => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 12 }), (argv) => {
        const parsed = parseCliArgs(argv);
        switch (parsed.kind) {
          case "help":
            assert.equal(typeof parsed.text, "string");
            assert.ok(parsed.text.length > 0);
            break;
          case "version":
            break;
          case "error":
            assert.equal(typeof parsed.message, "string");
            assert.ok(parsed.message.length > 0, "empty error message");
            assert.ok(oneLine(parsed.message), `multi-line error: ${JSON.stringify(parsed.message)}`);
            break;
          case "command":
            assert.ok((COMMANDS as readonly string[]).includes(parsed.command));
            assert.equal(typeof parsed.options, "object");
            assert.ok(Array.isArray(parsed.positionals));
            assert.ok(parsed.positionals.every((p) => typeof p === "string"));
            assert.ok(Number.isInteger(parsed.flags.count) && parsed.flags.count >= 1);
            break;
          default:
            assert.fail(`unknown kind ${JSON.stringify(parsed)}`);
        }
      }),
      params,
    );
  });

  it("does not change its input", () => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 8 }), (argv) => {
        const copy = [...argv];
        parseCliArgs(argv);
        assert.deepEqual(argv, copy);
      }),
      params,
    );
  });
});

// ---------------------------------------------------------------------------
// resolveConfig

const keys = Object.keys(ENV_VARS) as (keyof QwOptions)[];

/** Values options and config files can hold: JSON, plus numbers JSON cannot. */
const value = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom("nats://127.0.0.1:4222", "a,b", "1/s", "10/m", "host:80", "none", "yes", "off", "2", "0.5") },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 100 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const options = fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 8 }) as fc.Arbitrary<QwOptions>;
const envArb = fc.dictionary(fc.constantFrom(...Object.values(ENV_VARS), "PATH", "QW_OTHER"), text, { maxKeys: 6 });
/**
 * Config files are JSON objects; most keys are known, some are not, and an
 * unknown key may hold a line break (its message must still be one line).
 */
const fileArb = fc.dictionary(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string() }),
  value,
  { maxKeys: 6 },
) as fc.Arbitrary<QwOptions>;
const contextArb: fc.Arbitrary<ResolveContext> = fc.record({
  env: envArb,
  fileValues: fc.option(fileArb, { nil: undefined }),
  cpuCount: fc.oneof(fc.integer({ min: -2, max: 64 }), fc.double()),
  hostname: fc.string(),
  pid: fc.integer({ min: 0 }),
  purpose: fc.constantFrom("worker" as const, "client" as const, undefined),
});

/** The stream (and tasks) are usually given, so the fuzz gets past the first checks. */
const withBasics = fc.tuple(options, fc.boolean()).map(([o, basics]) =>
  basics ? { stream: "jobs", tasks: "./tasks.ts", ...o } : o
);

describe("fuzz: resolveConfig()", () => {
  it("returns a config or throws a one-line TypeError or RangeError", () => {
    fc.assert(
      fc.property(withBasics, contextArb, (opts, ctx) => {
        let config;
        try {
          config = resolveConfig(opts, ctx);
        } catch (e) {
          assert.ok(e instanceof TypeError || e instanceof RangeError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
          assert.ok(e.message.length > 0);
          assert.ok(oneLine(e.message), `multi-line message: ${JSON.stringify(e.message)}`);
          return;
        }
        assert.ok(config.servers.length > 0);
        assert.ok(Number.isInteger(config.concurrency) && config.concurrency >= 1);
        assert.ok(config.ackWait > 0 && Number.isFinite(config.ackWait));
        assert.ok(Number.isInteger(config.maxDeliveries) && config.maxDeliveries >= 2);
        assert.equal(typeof config.stream, "string");
      }),
      params,
    );
  });

  it("gives a one-line message for an unknown config file key with a line break", () => {
    const ctx = { env: {}, fileValues: { "x\ny": 1 } as QwOptions, cpuCount: 1, hostname: "h", pid: 1 };
    assert.throws(() => resolveConfig({ stream: "s", tasks: "t.ts" }, ctx), (e: Error) => oneLine(e.message));
  });
});

// ---------------------------------------------------------------------------
// serializeError / deserializeError

class CustomError extends Error {
  code = 42;
  constructor(message: string) {
    super(message);
    this.name = "CustomError";
  }
}

const errorName = fc.oneof(fc.constantFrom("Error", "TypeError", "Retry", "Reject", "CustomError", ""), fc.string());

/** An Error with a random name, message, cause chain and own fields. */
const errorValue: fc.Arbitrary<Error> = fc.letrec<{ err: Error }>((tie) => ({
  err: fc.record({
    kind: fc.constantFrom("Error", "TypeError", "RangeError", "CustomError", "AggregateError"),
    name: fc.option(errorName, { nil: undefined }),
    message: fc.string(),
    cause: fc.option(fc.oneof({ depthSize: "small" }, tie("err"), fc.anything()), { nil: undefined }),
    // Extra own fields; name, message, stack and cause are generated above (as Errors have them).
    fields: fc.dictionary(fc.string().filter((k) => !["__proto__", "name", "message", "stack", "cause"].includes(k)), fc.anything(), { maxKeys: 3 }),
  }).map(({ kind, name, message, cause, fields }) => {
    const e = kind === "TypeError"
      ? new TypeError(message, { cause })
      : kind === "RangeError"
      ? new RangeError(message, { cause })
      : kind === "CustomError"
      ? new CustomError(message)
      : kind === "AggregateError"
      ? new AggregateError([new Error("inner")], message)
      : new Error(message, { cause });
    if (name !== undefined) e.name = name;
    Object.assign(e, fields);
    return e;
  }),
})).err;

/** Values a task could throw that are not Errors, including hostile ones. */
function hostile(): unknown[] {
  const cyclic: Record<string, unknown> = { message: "cyclic" };
  cyclic.self = cyclic;
  const selfCause = new Error("self cause");
  (selfCause as { cause?: unknown }).cause = selfCause;
  const withBigInt = Object.assign(new Error("bigint field"), { big: 10n });
  const withSymbol = Object.assign(new Error("symbol field"), { sym: Symbol("s") });
  const withFn = Object.assign(new Error("fn field"), { fn: () => 1 });
  const withCyclicField = Object.assign(new Error("cyclic field"), { c: cyclic });
  return [
    undefined, null, 0, -0, NaN, "", "a string", Symbol("thrown"), 10n, () => {}, [], [1, 2], {}, cyclic, selfCause,
    withBigInt, withSymbol, withFn, withCyclicField,
    { message: 42 }, { message: null, name: 7 }, { message: Symbol("m") }, { name: "OnlyName" },
    Object.create(null), Object.assign(Object.create(null), { message: "null proto" }),
    new Proxy({}, { get: () => undefined }),
    Promise.resolve(1), new Date(0), /re/g, new Map([[1, 2]]), new Uint8Array(3),
  ];
}

const thrown = fc.oneof(
  { weight: 4, arbitrary: errorValue },
  { weight: 2, arbitrary: fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }) },
  { weight: 2, arbitrary: fc.constantFrom(...hostile()) },
  { weight: 1, arbitrary: fc.record({ message: fc.anything({ withBigInt: true }), name: fc.anything() }) },
);

/**
 * Thrown values serializeError() once threw on: a message that cannot become
 * a string, and getters that throw. In a Web Worker that turned the task's
 * own failure into a WorkerLostError and killed the Web Worker.
 */
function knownHostile(): [string, () => unknown][] {
  return [
    ["a null-prototype message", () => ({ message: Object.create(null) })],
    ["a message whose toString throws", () => ({ message: { toString: () => { throw new Error("toString"); } } })],
    ["a revoked proxy", () => {
      const p = Proxy.revocable({}, {});
      p.revoke();
      return p.proxy;
    }],
    ["an Error whose name getter throws", () => {
      const e = new Error("x");
      Object.defineProperty(e, "name", { get: () => { throw new Error("getter"); } });
      return e;
    }],
    ["an Error with an enumerable getter that throws", () => {
      const e = new Error("x");
      Object.defineProperty(e, "lazy", { enumerable: true, get: () => { throw new Error("getter"); } });
      return e;
    }],
  ];
}


function checkSerialized(s: SerializedError, depth = 0): void {
  assert.equal(typeof s.name, "string");
  assert.equal(typeof s.message, "string");
  if (s.stack !== undefined) assert.equal(typeof s.stack, "string");
  if (s.cause !== undefined) {
    assert.ok(depth < 10, "cause chain is bounded");
    checkSerialized(s.cause, depth + 1);
  }
}

describe("fuzz: serializeError() / deserializeError()", () => {
  it("never throws for any thrown value, and the result is plain data (JSON and structured clone)", () => {
    fc.assert(
      fc.property(thrown, (e) => {
        const s = serializeError(e);
        checkSerialized(s);
        // It crosses the Web Worker boundary and is stored as JSON.
        assert.doesNotThrow(() => JSON.stringify(s));
        assert.doesNotThrow(() => structuredClone(s));
        const back = deserializeError(s);
        assert.ok(back instanceof Error);
        assert.equal(back.name, s.name);
        assert.equal(back.message, s.message);
      }),
      params,
    );
  });

  it("never throws for hostile thrown values either", () => {
    for (const [what, make] of knownHostile()) {
      assert.doesNotThrow(() => checkSerialized(serializeError(make())), `serializeError() threw for ${what}`);
    }
  });

  it("round-trips name and message of Errors", () => {
    fc.assert(
      fc.property(errorValue, (e) => {
        const back = deserializeError(structuredClone(serializeError(e)));
        assert.equal(back.name, e.name);
        assert.equal(back.message, e.message);
        if (e.cause instanceof Error) assert.equal((back.cause as Error).message, e.cause.message);
      }),
      params,
    );
  });
});

// ---------------------------------------------------------------------------
// decideAck

const serializedError: fc.Arbitrary<SerializedError> = fc.record({ name: errorName, message: fc.string() });

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ kind: fc.constant("success" as const), value: fc.anything() }),
  fc.record({ kind: fc.constant("error" as const), error: serializedError, autoretry: fc.boolean() }),
  fc.record(
    {
      kind: fc.constant("retry" as const),
      countdown: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
      maxRetries: fc.option(fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }), { nil: undefined }),
      exc: fc.option(serializedError, { nil: undefined }),
    },
    { requiredKeys: ["kind"] },
  ),
  fc.record({ kind: fc.constant("reject" as const), requeue: fc.boolean(), reason: fc.string() }),
  fc.constant({ kind: "ignore" as const }),
  fc.record({ kind: fc.constant("worker_lost" as const), error: serializedError }),
  fc.record({ kind: fc.constant("time_limit" as const), error: serializedError }),
  fc.record({ kind: fc.constant("invalid" as const), reason: fc.string() }),
);

const policy: fc.Arbitrary<AckPolicy> = fc.record({
  acksLate: fc.boolean(),
  rejectOnWorkerLost: fc.boolean(),
  acksOnFailureOrTimeout: fc.boolean(),
  maxRetries: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
  defaultRetryDelay: fc.double({ min: 0, max: 1e6, noNaN: true }),
  retryBackoff: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 100, noNaN: true })),
  retryBackoffMax: fc.double({ min: Number.MIN_VALUE, max: 1e6, noNaN: true }),
  retryJitter: fc.boolean(),
});

const decisionInput = fc.record({
  outcome,
  policy,
  maxDeliveries: fc.integer({ min: 2, max: 20 }),
  deliveryOffset: fc.integer({ min: -20, max: 5 }),
  retries: fc.integer({ min: 0, max: 12 }),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

const OPS = ["ack", "acked", "nak", "term"];
const STATES = ["SUCCESS", "FAILURE", "RETRY", null];
const EVENTS = ["job.succeeded", "job.failed", "job.retry_scheduled", "job.requeued", "job.rejected", "job.ignored"];

describe("fuzz: decideAck()", () => {
  it("always returns a valid broker op, never naks past maxDeliveries, and every term leaves a dead letter", () => {
    fc.assert(
      fc.property(decisionInput, ({ outcome, policy, maxDeliveries, deliveryOffset, retries, random }) => {
        // Around the cap: from 1 up to a few deliveries past it (a message can arrive past it).
        const deliveryCount = Math.max(1, maxDeliveries + deliveryOffset);
        const d = decideAck(outcome, { policy, deliveryCount, retries, maxDeliveries, random: () => random });
        assert.ok(OPS.includes(d.broker.op), `op ${d.broker.op}`);
        assert.ok(STATES.includes(d.state), `state ${d.state}`);
        assert.ok(EVENTS.includes(d.event), `event ${d.event}`);
        if (d.broker.op === "nak") {
          assert.ok(Number.isFinite(d.broker.delayMs) && d.broker.delayMs >= 0, `nak delay ${d.broker.delayMs}`);
          assert.ok(deliveryCount < maxDeliveries, `nak at delivery ${deliveryCount} of max ${maxDeliveries}`);
        }
        if (d.broker.op === "term") {
          assert.equal(typeof d.broker.reason, "string");
          assert.equal(typeof d.deadLetter, "string", "a term without a dead letter loses the job without a trace");
        }
        if (d.retry) {
          assert.ok(Number.isFinite(d.retry.countdown) && d.retry.countdown >= 0, `countdown ${d.retry.countdown}`);
          assert.equal(d.retry.retries, retries + 1);
          const max = outcome.kind === "retry" && outcome.maxRetries !== undefined ? outcome.maxRetries : policy.maxRetries;
          assert.ok(max === null || retries < max, `retry past maxRetries ${max}`);
          assert.equal(d.state, "RETRY");
        }
      }),
      params,
    );
  });

  it("with acksLate off: success and errors are never nak'ed or term'ed; nothing but an invalid job is", () => {
    fc.assert(
      fc.property(decisionInput, ({ outcome, policy, maxDeliveries, deliveryOffset, retries, random }) => {
        const deliveryCount = Math.max(1, maxDeliveries + deliveryOffset);
        const p = { ...policy, acksLate: false };
        const d = decideAck(outcome, { policy: p, deliveryCount, retries, maxDeliveries, random: () => random });
        if (outcome.kind === "success" || outcome.kind === "error") {
          assert.ok(d.broker.op === "ack" || d.broker.op === "acked", `${outcome.kind} -> ${d.broker.op}`);
        }
        // The message was acked when it started: only an invalid one (never started) can still be term'ed.
        if (outcome.kind !== "invalid") assert.equal(d.broker.op, "acked", `${outcome.kind} -> ${d.broker.op}`);
      }),
      params,
    );
  });

  it("with acksLate on: success acks after the run, and the message is always settled explicitly", () => {
    fc.assert(
      fc.property(decisionInput, ({ outcome, policy, maxDeliveries, deliveryOffset, retries, random }) => {
        const deliveryCount = Math.max(1, maxDeliveries + deliveryOffset);
        const p = { ...policy, acksLate: true };
        const d = decideAck(outcome, { policy: p, deliveryCount, retries, maxDeliveries, random: () => random });
        assert.notEqual(d.broker.op, "acked", "acksLate: nothing was acked at start");
        if (outcome.kind === "success") assert.equal(d.broker.op, "ack");
      }),
      params,
    );
  });
});
