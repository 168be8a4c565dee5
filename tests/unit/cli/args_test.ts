import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CommandCli, type CommandFlags, parseCliArgs, type ParsedCli } from "../../../src/cli/args.ts";
import { COMMAND_FLAGS, CONNECTION_FLAGS, GENERAL_FLAGS, TASK_FLAGS, WORKER_FLAGS } from "../../../src/cli/help.ts";
import { configFile, ENV_VARS, resolveConfig } from "../../../src/core/config/config.ts";
import { confirms, purgeConsent } from "../../../src/cli/commands/cmd_dlq.ts";

const NO_FLAGS: CommandFlags = {
  json: false, args: null, id: null, countdown: null, eta: null, expires: null, unique: null, concurrencyKey: null, debounce: null, count: 1, priority: null, headers: [],
  wait: null, dlqAction: null, seq: null, all: false, workers: false, jobs: null, idPrefix: null, terminate: false, ttl: null, yes: false,
  http: null, httpToken: null, task: null, until: null,
};

function command(argv: string[]): CommandCli {
  const parsed = parseCliArgs(argv);
  assert.equal(parsed.kind, "command", JSON.stringify(parsed));
  return parsed as CommandCli;
}

function error(argv: string[]): string {
  const parsed = parseCliArgs(argv);
  assert.equal(parsed.kind, "error", JSON.stringify(parsed));
  const { message } = parsed as Extract<ParsedCli, { kind: "error" }>;
  assert.ok(!message.includes("\n"), "the message is one line");
  return message;
}

describe("parseCliArgs()", () => {
  test("runs the worker when no subcommand is given", () => {
    assert.deepEqual(parseCliArgs([]), {
      kind: "command", command: "run", options: {}, positionals: [], printConfig: false, configFile: null, flags: NO_FLAGS,
    });
    assert.equal(command(["run", "--stream", "jobs"]).command, "run");
  });

  test("maps every worker flag to its QwOptions field", () => {
    const cli = command([
      "--server", "nats://a:4222", "--user", "u", "--password", "p", "--token", "t", "--nkey-file", "/k",
      "--creds-file", "/c", "--tls-ca", "/ca", "--tls-cert", "/cert", "--tls-key", "/key", "--connect-timeout", "5",
      "--stream", "jobs", "--consumer", "c", "--log-level", "debug", "--log-format", "json",
      "--tasks", "./t.ts", "--concurrency", "2", "--ack-wait", "10", "--grace", "3", "--max-deliveries", "4",
      "--no-results", "--no-events", "--result-ttl", "60", "--http", "localhost:8080", "--name", "w1", "--max-tasks-per-child", "9",
      "--stall-timeout", "8", "--spawn-timeout", "6", "--no-schedules", "--otlp-endpoint", "http://c:4318",
      "--acks-late", "--reject-on-worker-lost", "--no-acks-on-failure-or-timeout", "--max-retries", "7",
      "--default-retry-delay", "1", "--retry-backoff", "true", "--retry-backoff-max", "30", "--no-retry-jitter",
      "--time-limit", "20", "--soft-time-limit", "15", "--rate-limit", "5/s", "--track-started", "--ignore-result", "--confirm-ack",
    ]);
    assert.deepEqual(cli.options, {
      server: "nats://a:4222", user: "u", password: "p", token: "t", nkeySeedFile: "/k", credsFile: "/c",
      tlsCaFile: "/ca", tlsCertFile: "/cert", tlsKeyFile: "/key", connectTimeout: "5", stream: "jobs",
      consumer: "c", logLevel: "debug", logFormat: "json", tasks: "./t.ts", concurrency: "2", ackWait: "10",
      grace: "3", maxDeliveries: "4", results: false, events: false, resultTtl: "60", http: "localhost:8080", name: "w1",
      maxTasksPerChild: "9", stallTimeout: "8", spawnTimeout: "6", schedules: false, otlpEndpoint: "http://c:4318", acksLate: true, rejectOnWorkerLost: true, acksOnFailureOrTimeout: false,
      maxRetries: "7", defaultRetryDelay: "1", retryBackoff: "true", retryBackoffMax: "30", retryJitter: false,
      timeLimit: "20", softTimeLimit: "15", rateLimit: "5/s", trackStarted: true, ignoreResult: true, confirmAck: true,
    });
    assert.deepEqual(Object.keys(cli.options).sort(), Object.keys(ENV_VARS).sort(), "every option has a flag");
  });

  test("gives options that resolveConfig takes as they are", () => {
    const { options } = command(["--stream", "jobs", "--tasks", "t.ts", "--concurrency", "3", "--retry-backoff", "2"]);
    const config = resolveConfig(options, { env: { QW_CONCURRENCY: "9" }, cpuCount: 1, hostname: "h", pid: 1 });
    assert.equal(config.concurrency, 3);
    assert.equal(config.taskDefaults.retryBackoff, 2);
  });

  test("-E and --events turn events on; they are off by default, as Celery's", () => {
    for (const flag of ["-E", "--events"]) {
      assert.equal(command(["--stream", "s", "--tasks", "t.ts", flag]).options.events, true);
    }
    assert.equal(command(["--stream", "s", "--tasks", "t.ts"]).options.events, undefined);
    assert.equal(resolveConfig({ stream: "s", tasks: "t.ts" }, { env: {}, cpuCount: 1, hostname: "h", pid: 1 }).events, false);
  });

  test("revoke takes ids and --terminate; inspect takes --workers", () => {
    const r = command(["revoke", "--stream", "s", "a", "b", "--terminate"]);
    assert.deepEqual([r.command, r.positionals, r.flags.terminate], ["revoke", ["a", "b"], true]);
    assert.equal(command(["revoke", "--stream", "s", "a"]).flags.terminate, false);
    assert.equal(error(["revoke", "--stream", "s"]), "Missing job id for 'qw revoke': run 'qw --help' for usage");
    assert.equal(command(["inspect", "--stream", "s", "--workers"]).flags.workers, true);
  });

  test("revoke takes --ttl in seconds >= 1", () => {
    assert.equal(command(["revoke", "--stream", "s", "a", "--ttl", "90"]).flags.ttl, 90);
    assert.equal(command(["revoke", "--stream", "s", "a"]).flags.ttl, null);
    assert.equal(error(["revoke", "--stream", "s", "a", "--ttl", "0"]), `Cannot revoke job as '--ttl' must be a number >= 1: current value is "0"`);
    assert.equal(error(["enqueue", "--stream", "s", "add", "--ttl", "5"]).startsWith("Option '--ttl'"), true);
  });

  test("--no-results turns results off", () => {
    assert.equal(command(["--no-results"]).options.results, false);
    assert.equal(command(["--no-results", "--results"]).options.results, true);
  });

  test("--max-retries none resolves to retrying forever", () => {
    const { options } = command(["--stream", "s", "--tasks", "t.ts", "--max-retries", "none"]);
    assert.equal(options.maxRetries, "none");
    assert.equal(resolveConfig(options, { cpuCount: 1, hostname: "h", pid: 1 }).taskDefaults.maxRetries, null);
  });

  test("lets the last of a boolean flag and its --no- form win", () => {
    assert.equal(command(["--acks-late", "--no-acks-late"]).options.acksLate, false);
    assert.equal(command(["--no-acks-late", "--acks-late"]).options.acksLate, true);
    assert.equal(command(["--no-retry-jitter", "--retry-jitter"]).options.retryJitter, true);
  });

  test("collects a repeated --server into a list", () => {
    assert.deepEqual(command(["--server", "a:1", "--server=b:2"]).options.server, ["a:1", "b:2"]);
  });

  test("reads --config and --print-config for every command", () => {
    const cli = command(["inspect", "--config", "qw.json", "--print-config"]);
    assert.equal(cli.configFile, "qw.json");
    assert.equal(cli.printConfig, true);
    assert.match(error(["--config="]), /^Cannot start worker as '--config' must be a file path: current value is ""$/);
  });

  test("returns help for --help, -h and 'qw help', whatever else is given", () => {
    for (const argv of [["--help"], ["-h"], ["help"], ["enqueue", "--help"], ["--bogus", "-h"]]) {
      const parsed = parseCliArgs(argv);
      assert.equal(parsed.kind, "help", argv.join(" "));
    }
  });

  test("the config file key of every value flag is the flag in camelCase", () => {
    const keys = Object.keys(configFile(resolveConfig({ stream: "s", tasks: "t" }, { cpuCount: 1, hostname: "h", pid: 1 })));
    for (const flag of [...CONNECTION_FLAGS, ...WORKER_FLAGS, ...TASK_FLAGS]) {
      const camel = flag.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      assert.ok(keys.includes(flag.sets === undefined ? camel : flag.key), `--${flag.name}`);
    }
  });

  test("help lists every flag, its description and its environment variable", () => {
    const parsed = parseCliArgs(["--help"]);
    assert.ok(parsed.kind === "help");
    for (const flag of [...CONNECTION_FLAGS, ...WORKER_FLAGS, ...TASK_FLAGS]) {
      const left = flag.short ? `  -${flag.short}, --${flag.name} ` : `  --${flag.name} `;
      const line: string | undefined = parsed.text.split("\n").find((l) => l.startsWith(left));
      assert.ok(line, `--${flag.name} is listed`);
      assert.ok(line.includes(flag.help) && line.includes(`[${ENV_VARS[flag.key]}]`), line);
    }
    for (const flag of [...COMMAND_FLAGS, ...GENERAL_FLAGS]) {
      assert.ok(parsed.text.includes(`--${flag.name}`) && parsed.text.includes(flag.help), flag.name);
    }
    for (const name of ["enqueue", "result", "inspect", "dlq", "events", "schedule ls"]) assert.ok(parsed.text.includes(`qw ${name}`));
  });

  test("help says how enqueue reads its args, how --count names its ids and the exit codes of qw result", () => {
    const parsed = parseCliArgs(["--help"]);
    assert.ok(parsed.kind === "help");
    const usage = parsed.text.split("\n").find((l) => l.startsWith("  qw enqueue TASK"));
    assert.ok(usage?.includes("JSON value") && usage.includes("string"), String(usage));
    const count = parsed.text.split("\n").find((l) => l.startsWith("  --count "));
    assert.ok(count?.includes("--id X") && count.includes("X-1") && count.includes("X-N"), String(count));
    for (const code of [/\b0\b.*SUCCESS/, /\b1\b.*FAILURE/, /\b2\b.*(pending|timed out)/i, /\b3\b.*could not be read/]) {
      assert.match(parsed.text, code);
    }
    for (const l of parsed.text.split("\n")) assert.ok(l.length <= 120, `line too long: ${l}`);
  });

  test("returns version for --version and -V", () => {
    assert.deepEqual(parseCliArgs(["--version"]), { kind: "version" });
    assert.deepEqual(parseCliArgs(["events", "-V"]), { kind: "version" });
  });

  test("rejects an unknown flag with a one-line message", () => {
    assert.equal(error(["--bogus"]), "Unknown option '--bogus': run 'qw --help' for usage");
    assert.equal(error(["enqueue", "add", "-x"]), "Unknown option '-x': run 'qw --help' for usage");
  });

  test("rejects a flag of another command", () => {
    assert.equal(error(["--count", "2"]), "Option '--count' is not valid for 'qw run': run 'qw --help' for usage");
    assert.equal(error(["enqueue", "add", "--concurrency", "2"]), "Option '--concurrency' is not valid for 'qw enqueue': run 'qw --help' for usage");
  });

  test("rejects a value flag without a value and a boolean flag with one", () => {
    assert.equal(error(["--stream"]), "Option '--stream' needs a value: run 'qw --help' for usage");
    assert.equal(error(["--stream", "--tasks", "t.ts"]), "Option '--stream' needs a value: run 'qw --help' for usage");
    assert.equal(error(["--acks-late=yes"]), "Option '--acks-late' takes no value: run 'qw --help' for usage");
    assert.equal(command(["--max-retries=-1"]).options.maxRetries, "-1");
  });

  test("takes a negative number after a value flag as its value", () => {
    assert.equal(command(["--concurrency", "-2"]).options.concurrency, "-2");
    assert.equal(command(["--max-retries", "-1", "--stream", "s"]).options.maxRetries, "-1");
    assert.equal(command(["enqueue", "add", "--id", "-5"]).flags.id, "-5");
    assert.equal(command(["enqueue", "add", "--json", "[-1]"]).flags.args?.[0], -1);
    assert.equal(error(["--stream", "-x"]), "Option '--stream' needs a value: run 'qw --help' for usage");
    assert.equal(error(["inspect", "--json", "-1"]), "Unexpected argument '-1' for 'qw inspect': run 'qw --help' for usage");
    assert.equal(error(["enqueue", "add", "--countdown", "-1", "--bogus"]), "Unknown option '--bogus': run 'qw --help' for usage");
  });

  test("rejects an unknown command and stray arguments", () => {
    assert.equal(error(["frobnicate"]), "Unknown command 'frobnicate': run 'qw --help' for usage");
    assert.equal(error(["inspect", "x"]), "Unexpected argument 'x' for 'qw inspect': run 'qw --help' for usage");
    assert.equal(error(["run", "x"]), "Unexpected argument 'x' for 'qw run': run 'qw --help' for usage");
  });

  test("finds the subcommand after connection flags", () => {
    const cli = command(["--server", "a:1", "--stream", "s", "enqueue", "add", "1"]);
    assert.equal(cli.command, "enqueue");
    assert.deepEqual(cli.positionals, ["add", "1"]);
    assert.deepEqual(cli.options, { server: "a:1", stream: "s" });
  });
});

describe("parseCliArgs() enqueue", () => {
  test("reads the task, JSON args and every flag", () => {
    const cli = command([
      "enqueue", "add", "--json", "[1, 2]", "--id", "job-1", "--eta", "2030-01-31T12:00:00+01:00", "--count", "3",
      "--header", "X-Trace=abc", "--header", "X-Empty=", "--stream", "jobs", "--priority", "9",
    ]);
    assert.equal(cli.command, "enqueue");
    assert.deepEqual(cli.positionals, ["add"]);
    assert.deepEqual(cli.options, { stream: "jobs" });
    assert.deepEqual(cli.flags, {
      ...NO_FLAGS, args: [1, 2], id: "job-1", eta: "2030-01-31T11:00:00.000Z", count: 3, priority: 9,
      headers: [["X-Trace", "abc"], ["X-Empty", ""]],
    });
  });

  test("keeps string args after the task and reads --countdown", () => {
    const cli = command(["enqueue", "add", "1", "two", "--countdown", "2.5"]);
    assert.deepEqual(cli.positionals, ["add", "1", "two"]);
    assert.equal(cli.flags.args, null);
    assert.equal(cli.flags.countdown, 2.5);
  });

  test("reads --priority 0 to 9 and rejects anything else with one line", () => {
    assert.equal(command(["enqueue", "add", "--priority", "0"]).flags.priority, 0);
    for (const bad of ["10", "-1", "2.5", "high", ""]) {
      assert.throws(() => command(["enqueue", "add", "--priority", bad]), /'--priority' must be a whole number from 0 to 9: current value is/);
    }
  });

  test("reads --expires as seconds from now or as an ISO 8601 date", () => {
    assert.equal(command(["enqueue", "add", "--expires", "2"]).flags.expires, 2);
    assert.equal(command(["enqueue", "add", "--expires", "0.5"]).flags.expires, 0.5);
    assert.equal(command(["enqueue", "add", "--expires", "2030-01-31T12:00:00+01:00"]).flags.expires, "2030-01-31T11:00:00.000Z");
    assert.equal(command(["enqueue", "add", "--countdown", "5", "--expires", "60"]).flags.countdown, 5);
  });

  test("reads --concurrency-key", () => {
    assert.equal(command(["enqueue", "add", "--concurrency-key", "tenant 42"]).flags.concurrencyKey, "tenant 42");
  });

  test("reads --unique and --debounce", () => {
    assert.equal(command(["enqueue", "add", "--unique", "user-42"]).flags.unique, "user-42");
    const cli = command(["enqueue", "add", "--unique", "k", "--debounce", "2.5"]);
    assert.deepEqual([cli.flags.unique, cli.flags.debounce], ["k", 2.5]);
  });

  test("takes negative numbers after the task as args, not flags", () => {
    assert.deepEqual(command(["enqueue", "add", "-1", "-2"]).positionals, ["add", "-1", "-2"]);
    const cli = command(["enqueue", "add", "-1.5", "--count", "2", "-3e2", "x", "-.5"]);
    assert.deepEqual(cli.positionals, ["add", "-1.5", "-3e2", "x", "-.5"]);
    assert.equal(cli.flags.count, 2);
    assert.deepEqual(command(["--stream", "s", "enqueue", "-1", "-2"]).positionals, ["-1", "-2"]);
    assert.deepEqual(command(["enqueue", "add", "--", "-1", "-x"]).positionals, ["add", "-1", "-x"]);
  });

  const bad: [string, string[], string][] = [
    ["a missing task", [], "Missing task name for 'qw enqueue': run 'qw --help' for usage"],
    ["JSON that is not an array", ["add", "--json", `{"a":1}`], `Cannot enqueue job as '--json' must be a JSON array of args: current value is "{\\"a\\":1}"`],
    ["JSON that does not parse", ["add", "--json", "[1,"], `Cannot enqueue job as '--json' must be a JSON array of args: current value is "[1,"`],
    ["--json with string args", ["add", "x", "--json", "[1]"], "Cannot enqueue job with both '--json' and args after the task name: run 'qw --help' for usage"],
    ["an empty id", ["add", "--id="], `Cannot enqueue job as '--id' must be a non-empty string: current value is ""`],
    ["a negative countdown", ["add", "--countdown=-1"], `Cannot enqueue job as '--countdown' must be a number >= 0: current value is "-1"`],
    ["a negative countdown as the next argument", ["add", "--countdown", "-1"], `Cannot enqueue job as '--countdown' must be a number >= 0: current value is "-1"`],
    ["a negative count as the next argument", ["add", "1", "--count", "-2"], `Cannot enqueue job as '--count' must be an integer >= 1: current value is "-2"`],
    ["count 0", ["add", "--count", "0"], `Cannot enqueue job as '--count' must be an integer >= 1: current value is "0"`],
    ["an eta without a time zone", ["add", "--eta", "2030-01-31T12:00"], `Cannot enqueue job as '--eta' must be an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is "2030-01-31T12:00"`],
    ["an eta that is no date", ["add", "--eta", "tomorrow"], `Cannot enqueue job as '--eta' must be an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is "tomorrow"`],
    ["both countdown and eta", ["add", "--countdown", "1", "--eta", "2030-01-31"], "Cannot enqueue job with both '--countdown' and '--eta': run 'qw --help' for usage"],
    ["an expiry of 0 seconds", ["add", "--expires", "0"], `Cannot enqueue job as '--expires' must be seconds > 0 or an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is "0"`],
    ["a negative expiry", ["add", "--expires=-3"], `Cannot enqueue job as '--expires' must be seconds > 0 or an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is "-3"`],
    ["an expiry that is no date", ["add", "--expires", "soon"], `Cannot enqueue job as '--expires' must be seconds > 0 or an ISO 8601 date with a time zone, e.g. "2030-01-31T12:00:00Z": current value is "soon"`],
    ["an empty unique key", ["add", "--unique", ""], `Cannot enqueue job as '--unique' must be a non-empty string: current value is ""`],
    ["--debounce without --unique", ["add", "--debounce", "2"], "Cannot enqueue job with '--debounce' but no '--unique KEY': run 'qw --help' for usage"],
    ["a debounce of 0", ["add", "--unique", "k", "--debounce", "0"], `Cannot enqueue job as '--debounce' must be seconds > 0: current value is "0"`],
    ["a debounce that is no number", ["add", "--unique", "k", "--debounce", "soon"], `Cannot enqueue job as '--debounce' must be a number >= 0: current value is "soon"`],
    ["--unique with --count", ["add", "--unique", "k", "--count", "2"], "Cannot enqueue job with both '--unique' and '--count': run 'qw --help' for usage"],
    ["a header without =", ["add", "--header", "X-Trace"], `Cannot enqueue job as '--header' must be KEY=VALUE with a key of printable ASCII without ':': current value is "X-Trace"`],
    ["a header key with a colon", ["add", "--header", "a:b=c"], `Cannot enqueue job as '--header' must be KEY=VALUE with a key of printable ASCII without ':': current value is "a:b=c"`],
  ];
  for (const [what, argv, message] of bad) {
    test(`rejects ${what}`, () => assert.equal(error(["enqueue", ...argv]), message));
  }
});

describe("parseCliArgs() result, inspect, events, dlq and schedule", () => {
  test("schedule lists by default, takes ls and --json, and rejects other actions", () => {
    assert.equal(command(["schedule", "ls", "--stream", "jobs", "--json"]).flags.json, true);
    assert.equal(command(["schedule"]).command, "schedule");
    assert.equal(command(["schedule", "ls"]).flags.json, false);
    assert.equal(error(["schedule", "rm"]), "Unknown schedule action 'rm': run 'qw --help' for usage");
    assert.equal(error(["schedule", "ls", "x"]), "Unexpected argument 'x' for 'qw schedule': run 'qw --help' for usage");
    assert.match(error(["schedule", "--tasks", "t.ts"]), /^Option '--tasks' is not valid for 'qw schedule'/);
  });

  test("--no-schedules and QW_SCHEDULES=0 turn firing off", () => {
    const { options } = command(["--stream", "s", "--tasks", "t.ts", "--no-schedules"]);
    assert.equal(resolveConfig(options, { cpuCount: 1, hostname: "h", pid: 1 }).schedules, false);
    const fromEnv = resolveConfig({ stream: "s", tasks: "t.ts" }, { env: { QW_SCHEDULES: "0" }, cpuCount: 1, hostname: "h", pid: 1 });
    assert.equal(fromEnv.schedules, false);
    assert.equal(resolveConfig({ stream: "s", tasks: "t.ts" }, { cpuCount: 1, hostname: "h", pid: 1 }).schedules, true);
  });

  test("result reads the job id and --wait", () => {
    const cli = command(["result", "job-1", "--wait", "10"]);
    assert.deepEqual(cli.positionals, ["job-1"]);
    assert.equal(cli.flags.wait, 10);
    assert.equal(command(["result", "job-1"]).flags.wait, null);
    assert.equal(error(["result"]), "Missing job id for 'qw result': run 'qw --help' for usage");
    assert.equal(error(["result", "a", "--wait", "soon"]), `Cannot get result as '--wait' must be a number >= 0: current value is "soon"`);
    assert.equal(error(["result", "a", "--wait", "-1"]), `Cannot get result as '--wait' must be a number >= 0: current value is "-1"`);
    assert.equal(error(["result", "a", "--wait=-1"]), `Cannot get result as '--wait' must be a number >= 0: current value is "-1"`);
    assert.deepEqual(command(["result", "-1", "--wait", "-0"]).positionals, ["-1"], "a job id may look like a negative number");
  });

  test("inspect and events take --json as a boolean", () => {
    assert.equal(command(["inspect", "--json"]).flags.json, true);
    assert.equal(command(["events", "--json"]).flags.json, true);
    assert.equal(command(["events"]).flags.json, false);
    assert.equal(error(["inspect", "--json=[1]"]), "Option '--json' takes no value: run 'qw --help' for usage");
  });

  test("pause takes --task and --until (read against the clock later); resume takes --task", () => {
    assert.deepEqual(command(["pause", "--stream", "jobs"]).flags, NO_FLAGS);
    assert.deepEqual(command(["pause", "--task", "add", "--until", "90s"]).flags, { ...NO_FLAGS, task: "add", until: "90s" });
    assert.deepEqual(command(["resume", "--task", "add"]).flags, { ...NO_FLAGS, task: "add" });
    assert.equal(error(["resume", "--until", "90s"]), "Option '--until' is not valid for 'qw resume': run 'qw --help' for usage");
    assert.match(error(["pause", "--task", "a.b"]), /^Cannot pause as '--task' must be a task name .*: current value is "a\.b"$/);
    assert.equal(error(["pause", "--until", " "]), `Cannot pause as '--until' must be a date: current value is ""`);
    assert.equal(error(["pause", "x"]), "Unexpected argument 'x' for 'qw pause': run 'qw --help' for usage");
  });

  test("dlq lists by default and reads ls, show, replay and purge", () => {
    assert.deepEqual(command(["dlq"]).flags, { ...NO_FLAGS, dlqAction: "ls" });
    assert.deepEqual(command(["dlq", "ls", "--json"]).flags, { ...NO_FLAGS, dlqAction: "ls", json: true });
    assert.deepEqual(command(["dlq", "show", "12"]).flags, { ...NO_FLAGS, dlqAction: "show", seq: 12 });
    assert.deepEqual(command(["dlq", "replay", "12"]).flags, { ...NO_FLAGS, dlqAction: "replay", seq: 12 });
    assert.deepEqual(command(["dlq", "replay", "--all"]).flags, { ...NO_FLAGS, dlqAction: "replay", all: true });
    assert.deepEqual(command(["dlq", "purge"]).flags, { ...NO_FLAGS, dlqAction: "purge" });
  });

  const bad: [string, string[], string][] = [
    ["an unknown action", ["drop"], "Unknown dlq action 'drop': run 'qw --help' for usage"],
    ["show without a sequence", ["show"], "Missing sequence number for 'qw dlq show': run 'qw --help' for usage"],
    ["replay without a sequence or --all", ["replay"], "Missing sequence number for 'qw dlq replay': run 'qw --help' for usage"],
    ["a sequence that is no integer", ["show", "x"], `Cannot manage dead letters as 'SEQ' must be an integer >= 1: current value is "x"`],
    ["--all with show", ["show", "1", "--all"], "Option '--all' is only valid with 'qw dlq replay': run 'qw --help' for usage"],
    ["replay with both a sequence and --all", ["replay", "1", "--all"], "Unexpected argument '1' for 'qw dlq': run 'qw --help' for usage"],
    ["purge with an argument", ["purge", "1"], "Unexpected argument '1' for 'qw dlq': run 'qw --help' for usage"],
  ];
  for (const [what, argv, message] of bad) {
    test(`dlq rejects ${what}`, () => assert.equal(error(["dlq", ...argv]), message));
  }

  test("never throws, whatever the arguments", () => {
    const words = ["enqueue", "dlq", "--json", "--", "-", "--stream", "-V=1", "--help=x", "show", "=", "--header", "\n", ""];
    for (const a of words) for (const b of words) for (const c of words) {
      assert.doesNotThrow(() => parseCliArgs([a, b, c]), JSON.stringify([a, b, c]));
    }
  });
});

describe("qw dlq purge consent", () => {
  test("purgeConsent() purges with --yes, asks on a terminal, refuses otherwise", () => {
    assert.equal(purgeConsent(true, false), "purge");
    assert.equal(purgeConsent(true, true), "purge");
    assert.equal(purgeConsent(false, true), "ask");
    assert.equal(purgeConsent(false, false), "refuse");
  });

  test("confirms() takes y and yes in any case, nothing else", () => {
    for (const yes of ["y", "Y", "yes", " YES "]) assert.equal(confirms(yes), true, yes);
    for (const no of ["", "n", "no", "yess", "sure", null]) assert.equal(confirms(no), false, String(no));
  });

  test("--yes and -y are read for purge only", () => {
    assert.equal(command(["dlq", "purge", "--yes"]).flags.yes, true);
    assert.equal(command(["dlq", "purge", "-y"]).flags.yes, true);
    assert.match(error(["dlq", "ls", "--yes"]), /^Option '--yes' is only valid with 'qw dlq purge'/);
  });
});
