import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_TASK_DEFAULTS,
  ENV_VARS,
  configFile,
  parseRateLimit,
  type QwOptions,
  resolveConfig,
  type ResolveContext,
  resolveTaskDefaults,
  validateStreamName,
} from "../../../../src/core/config/config.ts";

const base: QwOptions = { stream: "jobs", tasks: "./tasks.ts" };
const ctx = (env: Record<string, string> = {}, extra: Partial<ResolveContext> = {}): ResolveContext => ({
  env,
  cpuCount: 4,
  hostname: "box",
  pid: 42,
  ...extra,
});

/** Asserts a one-line error of this class and exact message. */
function rejects(fn: () => unknown, name: "TypeError" | "RangeError", message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, name);
    assert.equal(error.message, message);
    assert.ok(!error.message.includes("\n") && !error.message.endsWith("."));
    return true;
  });
}

describe("resolveConfig()", () => {
  test("fills every default when only stream and tasks are given", () => {
    assert.deepEqual(resolveConfig(base, ctx()), {
      servers: ["nats://127.0.0.1:4222"],
      user: null, password: null, token: null, nkeySeedFile: null, credsFile: null,
      tlsCaFile: null, tlsCertFile: null, tlsKeyFile: null,
      connectTimeout: 30,
      stream: "jobs", tasks: "./tasks.ts", consumer: "qw_jobs", concurrency: 4,
      logLevel: "info", logFormat: "text", ackWait: 30, grace: 30, maxDeliveries: 5,
      results: true, resultTtl: 86400, events: false, http: null, name: "box:42", maxTasksPerChild: null,
      stallTimeout: 30, spawnTimeout: 30, schedules: true, otlpEndpoint: null,
      taskDefaults: {
        acksLate: false, rejectOnWorkerLost: false, acksOnFailureOrTimeout: true,
        maxRetries: 3, defaultRetryDelay: 180, retryBackoff: 0, retryBackoffMax: 600, retryJitter: true,
        timeLimit: null, softTimeLimit: null, rateLimit: null, trackStarted: false, ignoreResult: false, confirmAck: false,
      },
    });
  });

  test("defaults concurrency to the CPU count, at least 1", () => {
    assert.equal(resolveConfig(base, ctx({}, { cpuCount: 12 })).concurrency, 12);
    assert.equal(resolveConfig(base, ctx({}, { cpuCount: 0 })).concurrency, 1);
  });

  test("prefers an explicit option over the environment over the config file", () => {
    const fileValues: QwOptions = { concurrency: 2, grace: 5, ackWait: 7 };
    const env = { QW_CONCURRENCY: "3", QW_GRACE: "6" };
    const config = resolveConfig({ ...base, concurrency: "8" }, ctx(env, { fileValues }));
    assert.equal(config.concurrency, 8);
    assert.equal(config.grace, 6);
    assert.equal(config.ackWait, 7);
    assert.equal(config.resultTtl, 86400);
  });

  test("reads every option from its environment variable", () => {
    const env = {
      NATS_URL: "nats://a:4222, nats://b:4222", QW_NATS_USER: "u", QW_NATS_PASSWORD: "p", QW_NATS_TOKEN: "t",
      QW_NATS_NKEY_FILE: "/k", QW_NATS_CREDS_FILE: "/c", QW_NATS_TLS_CA: "/ca", QW_NATS_TLS_CERT: "/cert",
      QW_NATS_TLS_KEY: "/key", QW_CONNECT_TIMEOUT: "0", QW_STREAM: "s", QW_TASKS: "t.ts", QW_CONSUMER: "c",
      QW_CONCURRENCY: "2", QW_LOG_LEVEL: "DEBUG", QW_LOG_FORMAT: "json", QW_ACK_WAIT: "1.5", QW_GRACE: "0",
      QW_MAX_DELIVERIES: "2", QW_RESULTS: "off", QW_RESULT_TTL: "60", QW_EVENTS: "no", QW_HTTP: "0.0.0.0:8080", QW_NAME: "w1",
      QW_MAX_TASKS_PER_CHILD: "100", QW_STALL_TIMEOUT: "7", QW_SPAWN_TIMEOUT: "2.5", QW_SCHEDULES: "0", QW_ACKS_LATE: "yes", QW_REJECT_ON_WORKER_LOST: "1",
      QW_ACKS_ON_FAILURE_OR_TIMEOUT: "FALSE", QW_CONFIRM_ACK: "1", QW_MAX_RETRIES: "none", QW_DEFAULT_RETRY_DELAY: "0",
      QW_RETRY_BACKOFF: "2", QW_RETRY_BACKOFF_MAX: "60", QW_RETRY_JITTER: "no", QW_TIME_LIMIT: "10",
      QW_SOFT_TIME_LIMIT: "5", QW_RATE_LIMIT: "10/m", QW_TRACK_STARTED: "1", QW_IGNORE_RESULT: "1",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
    };
    assert.deepEqual(Object.keys(env).sort(), Object.values(ENV_VARS).sort());
    assert.deepEqual(resolveConfig({}, ctx(env)), {
      servers: ["nats://a:4222", "nats://b:4222"],
      user: "u", password: "p", token: "t", nkeySeedFile: "/k", credsFile: "/c",
      tlsCaFile: "/ca", tlsCertFile: "/cert", tlsKeyFile: "/key", connectTimeout: 0,
      stream: "s", tasks: "t.ts", consumer: "c", concurrency: 2, logLevel: "debug", logFormat: "json",
      ackWait: 1.5, grace: 0, maxDeliveries: 2, results: false, resultTtl: 60, events: false, http: "0.0.0.0:8080",
      name: "w1", maxTasksPerChild: 100, stallTimeout: 7, spawnTimeout: 2.5, schedules: false,
      otlpEndpoint: "http://collector:4318",
      taskDefaults: {
        acksLate: true, rejectOnWorkerLost: true, acksOnFailureOrTimeout: false, maxRetries: null,
        defaultRetryDelay: 0, retryBackoff: 2, retryBackoffMax: 60, retryJitter: false,
        timeLimit: 10, softTimeLimit: 5, rateLimit: "10/m", trackStarted: true, ignoreResult: true, confirmAck: true,
      },
    });
  });

  test("reads otlpEndpoint as an http(s) URL; empty or none turns it off; rejects another scheme", () => {
    assert.equal(resolveConfig({ ...base, otlpEndpoint: "https://otel.example:4318/" }, ctx()).otlpEndpoint, "https://otel.example:4318/");
    assert.equal(resolveConfig(base, ctx({ OTEL_EXPORTER_OTLP_ENDPOINT: "" })).otlpEndpoint, null);
    assert.equal(resolveConfig({ ...base, otlpEndpoint: "none" }, ctx({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318" })).otlpEndpoint, null);
    rejects(
      () => resolveConfig(base, ctx({ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://a:4317" })),
      "RangeError",
      `Cannot start worker as 'OTEL_EXPORTER_OTLP_ENDPOINT' must be an http:// or https:// URL, or "none": current value is "grpc://a:4317"`,
    );
  });

  test("accepts server as an array and as comma-separated host:port", () => {
    const config = resolveConfig({ ...base, server: ["tls://a:1,b:2", "ws://c"] }, ctx());
    assert.deepEqual(config.servers, ["tls://a:1", "b:2", "ws://c"]);
  });

  test("lets an explicit null clear a value set in the environment", () => {
    const config = resolveConfig({ ...base, user: null, maxRetries: null, http: null }, ctx({
      QW_NATS_USER: "u", QW_MAX_RETRIES: "2", QW_HTTP: "localhost:1",
    }));
    assert.equal(config.user, null);
    assert.equal(config.taskDefaults.maxRetries, null);
    assert.equal(config.http, null);
  });

  test("accepts none and null for unlimited maxRetries, limits and rate limit", () => {
    for (const none of ["none", "NULL", null]) {
      const t = resolveConfig({ ...base, maxRetries: none, timeLimit: none, softTimeLimit: none, rateLimit: none }, ctx());
      assert.equal(t.taskDefaults.maxRetries, null);
      assert.equal(t.taskDefaults.timeLimit, null);
      assert.equal(t.taskDefaults.rateLimit, null);
    }
  });

  test("reads retryBackoff as false, true or a factor", () => {
    const backoff = (value: QwOptions["retryBackoff"]) => resolveConfig({ ...base, retryBackoff: value }, ctx()).taskDefaults.retryBackoff;
    assert.equal(backoff(false), 0);
    assert.equal(backoff(true), 1);
    assert.equal(backoff("true"), 1);
    assert.equal(backoff("off"), 0);
    assert.equal(backoff("2.5"), 2.5);
    assert.equal(backoff(3), 3);
  });

  test("accepts http addresses with a host name, IPv4 or IPv6 host", () => {
    for (const http of ["localhost:0", "0.0.0.0:8080", "[::1]:65535"]) {
      assert.equal(resolveConfig({ ...base, http }, ctx()).http, http);
    }
  });

  test("gives a client a short connect timeout and the worker a long one", () => {
    assert.equal(resolveConfig({ stream: "jobs" }, ctx({}, { purpose: "client" })).connectTimeout, 5);
    assert.equal(resolveConfig(base, ctx()).connectTimeout, 30);
    assert.equal(resolveConfig({ stream: "jobs", connectTimeout: 12 }, ctx({}, { purpose: "client" })).connectTimeout, 12);
  });

  test("needs no tasks file for a client, but a stream", () => {
    assert.equal(resolveConfig({ stream: "jobs" }, ctx({}, { purpose: "client" })).tasks, null);
    rejects(
      () => resolveConfig({}, ctx({}, { purpose: "client" })),
      "TypeError",
      "Cannot run command as 'stream' is required (--stream or QW_STREAM): no value is set",
    );
  });

  const cases: [string, QwOptions, Record<string, string>, "TypeError" | "RangeError", string][] = [
    ["concurrency 0", { concurrency: "0" }, {}, "RangeError", `Cannot start worker as 'concurrency' must be an integer >= 1: current value is "0"`],
    ["concurrency 1.5", { concurrency: 1.5 }, {}, "RangeError", `Cannot start worker as 'concurrency' must be an integer >= 1: current value is "1.5"`],
    ["a non-number concurrency from the env", {}, { QW_CONCURRENCY: "many" }, "TypeError", `Cannot start worker as 'QW_CONCURRENCY' must be an integer >= 1: current value is "many"`],
    ["an empty number", { grace: "" }, {}, "TypeError", `Cannot start worker as 'grace' must be a number >= 0: current value is ""`],
    ["a negative grace", { grace: -1 }, {}, "RangeError", `Cannot start worker as 'grace' must be a number >= 0: current value is "-1"`],
    ["ackWait 0", { ackWait: 0 }, {}, "RangeError", `Cannot start worker as 'ackWait' must be a number > 0: current value is "0"`],
    ["an infinite resultTtl", { resultTtl: "Infinity" }, {}, "TypeError", `Cannot start worker as 'resultTtl' must be a number > 0: current value is "Infinity"`],
    ["a negative connectTimeout", { connectTimeout: "-5" }, {}, "RangeError", `Cannot start worker as 'connectTimeout' must be a number >= 0: current value is "-5"`],
    ["maxDeliveries 1", { maxDeliveries: 1 }, {}, "RangeError", `Cannot start worker as 'maxDeliveries' must be an integer >= 2: current value is "1"`],
    ["maxTasksPerChild 0", { maxTasksPerChild: 0 }, {}, "RangeError", `Cannot start worker as 'maxTasksPerChild' must be an integer >= 1 or "none": current value is "0"`],
    ["a negative maxRetries", {}, { QW_MAX_RETRIES: "-1" }, "RangeError", `Cannot start worker as 'QW_MAX_RETRIES' must be an integer >= 0 or "none": current value is "-1"`],
    ["a word for maxRetries", { maxRetries: "forever" }, {}, "TypeError", `Cannot start worker as 'maxRetries' must be an integer >= 0 or "none": current value is "forever"`],
    ["a negative defaultRetryDelay", { defaultRetryDelay: -1 }, {}, "RangeError", `Cannot start worker as 'defaultRetryDelay' must be a number >= 0: current value is "-1"`],
    ["retryBackoffMax 0", { retryBackoffMax: 0 }, {}, "RangeError", `Cannot start worker as 'retryBackoffMax' must be a number > 0: current value is "0"`],
    ["a negative retryBackoff", { retryBackoff: "-1" }, {}, "RangeError", `Cannot start worker as 'retryBackoff' must be "true", "false" or a factor >= 0: current value is "-1"`],
    ["a word for retryBackoff", { retryBackoff: "fast" }, {}, "TypeError", `Cannot start worker as 'retryBackoff' must be "true", "false" or a factor >= 0: current value is "fast"`],
    ["timeLimit 0", { timeLimit: 0 }, {}, "RangeError", `Cannot start worker as 'timeLimit' must be a number > 0 or "none": current value is "0"`],
    ["a word for softTimeLimit", { softTimeLimit: "soon" }, {}, "TypeError", `Cannot start worker as 'softTimeLimit' must be a number > 0 or "none": current value is "soon"`],
    ["a rate limit per day", { rateLimit: "5/d" }, {}, "RangeError", `Cannot start worker as 'rateLimit' must be "N/s", "N/m" or "N/h" with N a positive number, or "none": current value is "5/d"`],
    ["a zero rate limit", {}, { QW_RATE_LIMIT: "0/s" }, "RangeError", `Cannot start worker as 'QW_RATE_LIMIT' must be "N/s", "N/m" or "N/h" with N a positive number, or "none": current value is "0/s"`],
    ["a boolean word it does not know", {}, { QW_ACKS_LATE: "maybe" }, "TypeError", `Cannot start worker as 'QW_ACKS_LATE' must be a boolean ("true", "false", "1", "0", "yes", "no", "on" or "off"): current value is "maybe"`],
    ["a number for a boolean", { results: 1 as unknown as boolean }, {}, "TypeError", `Cannot start worker as 'results' must be a boolean ("true", "false", "1", "0", "yes", "no", "on" or "off"): current value is "1"`],
    ["an unknown log level", { logLevel: "verbose" }, {}, "RangeError", `Cannot start worker as 'logLevel' must be one of "debug", "info", "warning", "error": current value is "verbose"`],
    ["an unknown log format", {}, { QW_LOG_FORMAT: "xml" }, "RangeError", `Cannot start worker as 'QW_LOG_FORMAT' must be one of "text", "json": current value is "xml"`],
    ["an http address without a port", { http: "localhost" }, {}, "RangeError", `Cannot start worker as 'http' must be "host:port" with a port from 0 to 65535, or "none": current value is "localhost"`],
    ["an http port above 65535", { http: "localhost:65536" }, {}, "RangeError", `Cannot start worker as 'http' must be "host:port" with a port from 0 to 65535, or "none": current value is "localhost:65536"`],
    ["an http server URL", {}, { NATS_URL: "nats://a:4222,http://b" }, "RangeError", `Cannot start worker as 'NATS_URL' must be comma-separated NATS URLs (nats://, tls://, ws:// or wss://): current value is "http://b"`],
    ["an empty server list", { server: " , " }, {}, "TypeError", `Cannot start worker as 'server' must be comma-separated NATS URLs (nats://, tls://, ws:// or wss://): current value is " , "`],
    ["an empty user", {}, { QW_NATS_USER: "" }, "TypeError", `Cannot start worker as 'QW_NATS_USER' must be a non-empty string: current value is ""`],
    ["an empty worker name", { name: " " }, {}, "TypeError", `Cannot start worker as 'name' must be a non-empty string: current value is " "`],
    ["a TLS certificate without a key", { tlsCertFile: "/cert" }, {}, "TypeError", `Cannot start worker as 'tlsCert' and 'tlsKey' must be set together: current value of 'tlsKey' is null`],
    ["a TLS key without a certificate", {}, { QW_NATS_TLS_KEY: "/key" }, "TypeError", `Cannot start worker as 'tlsKey' and 'tlsCert' must be set together: current value of 'tlsCert' is null`],
    ["a stream name with a dot", { stream: "a.b" }, {}, "RangeError", `Cannot start worker as 'stream' must be a name without whitespace, ".", "*", ">", "/" or "\\": current value is "a.b"`],
    ["a consumer name with a space", {}, { QW_CONSUMER: "my consumer" }, "RangeError", `Cannot start worker as 'QW_CONSUMER' must be a name without whitespace, ".", "*", ">", "/" or "\\": current value is "my consumer"`],
    ["a missing stream", { stream: undefined }, {}, "TypeError", "Cannot start worker as 'stream' is required (--stream or QW_STREAM): no value is set"],
    ["a missing tasks file", { tasks: undefined }, {}, "TypeError", "Cannot start worker as 'tasks' is required (--tasks or QW_TASKS): no value is set"],
  ];
  for (const [what, options, env, name, message] of cases) {
    test(`rejects ${what} with a one-line ${name}`, () => {
      rejects(() => resolveConfig({ ...base, ...options }, ctx(env)), name, message);
    });
  }

  test("rejects an unknown config file key with a one-line TypeError listing the valid keys and the nearest one", () => {
    const fileValues = { concurency: 4 } as QwOptions;
    assert.throws(() => resolveConfig(base, ctx({}, { fileValues })), (e: Error) => {
      assert.equal(e.name, "TypeError");
      assert.match(e.message, /^Cannot start worker as config file key 'concurency' must be one of 'server', 'user', /);
      assert.match(e.message, / 'nkeyFile', 'credsFile', 'tlsCa', 'tlsCert', 'tlsKey', /);
      assert.match(e.message, / 'concurrency', .* 'trackStarted', 'ignoreResult' \(did you mean 'concurrency'\?\): current value is "4"$/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  });

  test("names the nearest key of a mistyped task default in a config file, and none for a name far from all", () => {
    assert.throws(() => resolveConfig(base, ctx({}, { fileValues: { acksLAte: true } as QwOptions })), {
      message: /key 'acksLAte' must be one of .* \(did you mean 'acksLate'\?\): current value is "true"$/,
    });
    assert.throws(() => resolveConfig(base, ctx({}, { fileValues: { zzzzzzzz: 1 } as QwOptions })), {
      message: /'ignoreResult': current value is "1"$/,
    });
  });

  test("accepts the flags' names nkeyFile, tlsCa, tlsCert and tlsKey as well as the library's names", () => {
    const paths = { nkeySeedFile: "/k", tlsCaFile: "/ca", tlsCertFile: "/c", tlsKeyFile: "/key" };
    const flagNamed = { nkeyFile: "/k", tlsCa: "/ca", tlsCert: "/c", tlsKey: "/key" };
    for (const fileValues of [paths, flagNamed] as QwOptions[]) {
      const config = resolveConfig(base, ctx({}, { fileValues }));
      assert.deepEqual(
        { nkeySeedFile: config.nkeySeedFile, tlsCaFile: config.tlsCaFile, tlsCertFile: config.tlsCertFile, tlsKeyFile: config.tlsKeyFile },
        paths,
      );
    }
    assert.equal(resolveConfig({ ...base, tlsCa: "/from-code" }, ctx()).tlsCaFile, "/from-code");
  });

  test("rejects an option given under both of its names", () => {
    rejects(
      () => resolveConfig(base, ctx({}, { fileValues: { tlsCaFile: "/a", tlsCa: "/b" } })),
      "TypeError",
      `Cannot start worker as config file keys 'tlsCaFile' and 'tlsCa' must not both be set: current value is "/b"`,
    );
  });

  test("names the caller's attempt in its errors", () => {
    rejects(
      () => resolveConfig({}, ctx({}, { purpose: "client", attempt: "enqueue job" })),
      "TypeError",
      "Cannot enqueue job as 'stream' is required (--stream or QW_STREAM): no value is set",
    );
  });

  test("needs neither stream nor tasks to print a config", () => {
    const config = resolveConfig({}, ctx({}, { partial: true }));
    assert.equal(config.stream, null);
    assert.equal(config.consumer, null);
    assert.equal(config.tasks, null);
    assert.equal(config.connectTimeout, 30);
  });

  test("escapes control characters of an unknown config file key, so the message stays one line", () => {
    const fileValues = { "x\ny": 1, "a\u2028b": 2 } as unknown as QwOptions;
    assert.throws(() => resolveConfig(base, ctx({}, { fileValues })), (e: Error) => {
      assert.match(e.message, /^Cannot start worker as config file key 'x\\ny' must be one of 'server', .*: current value is "1"$/);
      return true;
    });
    for (const key of ["\r", "\u0000", "\u001b[31m", "\u007f", "\u2028", "\u2029", "a\r\nb"]) {
      const file = { [key]: true } as unknown as QwOptions;
      assert.throws(() => resolveConfig(base, ctx({}, { fileValues: file })), (e: Error) => {
        // deno-lint-ignore no-control-regex
        assert.ok(!/[\x00-\x1f\x7f\u2028\u2029]/.test(e.message), JSON.stringify(e.message));
        return true;
      });
    }
  });
});

describe("resolveTaskDefaults()", () => {
  test("returns the defaults when nothing is set", () => {
    assert.deepEqual(resolveTaskDefaults({}), { ...DEFAULT_TASK_DEFAULTS });
  });

  test("takes the environment and the config file with the same precedence", () => {
    const t = resolveTaskDefaults({ maxRetries: 1 }, { env: { QW_MAX_RETRIES: "2", QW_ACKS_LATE: "on" }, fileValues: { acksLate: false, retryJitter: false } });
    assert.equal(t.maxRetries, 1);
    assert.equal(t.acksLate, true);
    assert.equal(t.retryJitter, false);
  });
});

describe("parseRateLimit()", () => {
  test("reads per second, per minute, per hour and a bare number", () => {
    assert.deepEqual(parseRateLimit("10/s"), { perSecond: 10 });
    assert.deepEqual(parseRateLimit("100/m"), { perSecond: 100 / 60 });
    assert.deepEqual(parseRateLimit("3600/h"), { perSecond: 1 });
    assert.deepEqual(parseRateLimit("2.5"), { perSecond: 2.5 });
    assert.deepEqual(parseRateLimit(" 6 / m "), { perSecond: 0.1 });
  });

  for (const bad of ["", "/s", "0/s", "-1/s", "10/", "10/d", "10/S", "ten/s", "1/s/s", "Infinity"]) {
    test(`rejects ${JSON.stringify(bad)} with a one-line RangeError`, () => {
      rejects(
        () => parseRateLimit(bad),
        "RangeError",
        `Cannot parse rate limit as it must be "N/s", "N/m" or "N/h" with N a positive number: current value is ${JSON.stringify(bad)}`,
      );
    });
  }
});

describe("validateStreamName()", () => {
  test("returns a valid name", () => {
    assert.equal(validateStreamName("jobs-1_A", "stream"), "jobs-1_A");
  });

  for (const bad of ["a*", "a>", "a/b", "a\\b", "a\tb", "a\nb"]) {
    test(`rejects ${JSON.stringify(bad)} with a one-line RangeError`, () => {
      assert.throws(() => validateStreamName(bad, "stream"), RangeError);
    });
  }

  test("rejects an empty name with a TypeError naming the attempt", () => {
    rejects(() => validateStreamName("", "stream", "enqueue job"), "TypeError", `Cannot enqueue job as 'stream' must be a non-empty name: current value is ""`);
  });
});

describe("configFile()", () => {
  const roundTrip = (options: QwOptions, purpose: "worker" | "client" | "print") => {
    const context = purpose === "print" ? { partial: true } : { purpose };
    const config = resolveConfig(options, ctx({}, context));
    const file = JSON.parse(JSON.stringify(configFile(config)));
    assert.deepEqual(resolveConfig({}, ctx({}, { ...context, fileValues: file })), config);
    return file;
  };

  test("gives a config file that resolves to the same config", () => {
    roundTrip(base, "worker");
    roundTrip({ stream: "jobs" }, "client");
    roundTrip({}, "print");
    roundTrip({
      ...base, server: "nats://a:1,b:2", user: "u", credsFile: "/creds", nkeySeedFile: "/nk",
      tlsCaFile: "/ca", tlsCertFile: "/c", tlsKeyFile: "/k", consumer: "mine", concurrency: 3, logFormat: "json",
      http: "localhost:9090", maxTasksPerChild: 10, acksLate: true, maxRetries: null, retryBackoff: 2,
      timeLimit: 5, rateLimit: "10/m", trackStarted: true, results: false,
    }, "worker");
  });

  test("names the keys as the flags in camelCase, task defaults at the top", () => {
    const file = roundTrip({ stream: "jobs" }, "print");
    assert.deepEqual(file.server, ["nats://127.0.0.1:4222"]);
    assert.equal(file.nkeyFile, null);
    assert.equal(file.tlsCa, null);
    assert.equal(file.acksLate, false);
    assert.equal(file.maxRetries, 3);
    for (const key of ["servers", "taskDefaults", "nkeySeedFile", "tlsCaFile", "tasks"]) assert.ok(!(key in file), key);
  });

  test("leaves out stream and consumer when no stream is given", () => {
    const file = configFile(resolveConfig({}, ctx({}, { partial: true })));
    assert.ok(!("stream" in file) && !("consumer" in file));
  });

  test("masks password, token and URL credentials but not file paths", () => {
    const config = resolveConfig({
      ...base, server: "nats://alice:s3cret@a:4222,nats://tok@b,c:4222", user: "alice", password: "s3cret", token: "tok",
      credsFile: "/etc/qw.creds", tlsCertFile: "/cert", tlsKeyFile: "/key",
    }, ctx());
    const masked = configFile(config);
    assert.deepEqual(masked.server, ["nats://alice:***@a:4222", "nats://***@b", "c:4222"]);
    assert.equal(masked.password, "***");
    assert.equal(masked.token, "***");
    assert.equal(masked.user, "alice");
    assert.equal(masked.credsFile, "/etc/qw.creds");
    assert.equal(masked.tlsKey, "/key");
    assert.ok(!JSON.stringify(masked).includes("s3cret"));
    assert.equal(config.password, "s3cret", "the config itself is unchanged");
  });

  test("keeps unset secrets null", () => {
    const masked = configFile(resolveConfig(base, ctx()));
    assert.equal(masked.password, null);
    assert.equal(masked.token, null);
  });
});
