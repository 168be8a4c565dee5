// One-shot commands against a server that is down: one line after a short bound, the attempts only at debug.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hasStackTrace, runQw } from "../helpers/cli.ts";

const SLOW = { timeout: 60_000 };
/** Port 1 on loopback: nothing listens, so every attempt is refused at once. */
const DOWN = ["--server", "nats://127.0.0.1:1", "--stream", "jobs"];

const COMMANDS: [string, string[]][] = [
  ["enqueue", ["enqueue", "add", "1", "2"]],
  ["result", ["result", "some-id"]],
  ["inspect", ["inspect"]],
  ["dlq", ["dlq", "ls"]],
  ["events", ["events"]],
];

describe("one-shot commands against a server that is down", () => {
  it("fail with one line within the default bound of a few seconds", SLOW, async () => {
    await Promise.all(COMMANDS.map(async ([name, args]) => {
      const started = Date.now();
      const r = await runQw([...args, ...DOWN]);
      const seconds = (Date.now() - started) / 1000;
      assert.notEqual(r.code, 0, name);
      assert.ok(!hasStackTrace(r.stderr), `${name}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${name} printed one line: ${r.stderr}`);
      assert.match(lines[0], /^qw: Cannot connect to NATS at 'nats:\/\/127.0.0.1:1' after \d+ attempts in 5s/, name);
      assert.ok(seconds < 12, `${name} took ${seconds} s`);
    }));
  });

  it("show each attempt at --log-level debug", SLOW, async () => {
    const r = await runQw(["inspect", ...DOWN, "--connect-timeout", "1", "--log-level", "debug"]);
    assert.notEqual(r.code, 0);
    const attempts = r.stderr.split("\n").filter((l) => /cannot connect to NATS .* \(attempt \d+\)/.test(l));
    assert.ok(attempts.length >= 2, r.stderr);
    assert.match(r.stderr.trim().split("\n").at(-1)!, /^qw: Cannot connect to NATS/);
  });
});
