/** `qw dashboard`'s flags, and its refusal to listen beyond loopback without a token (exit 2, before connecting). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseCliArgs } from "../../../../src/cli/args.ts";
import { runDashboard } from "../../../../src/cli/commands/cmd_dashboard.ts";
import { resolveConfig } from "../../../../src/core/config/config.ts";
import { Emitter } from "../../../../src/core/events.ts";
import { helpText } from "../../../../src/cli/help.ts";

function parse(argv: string[]) {
  const r = parseCliArgs(argv);
  if (r.kind !== "command") throw new Error(`expected a command: ${JSON.stringify(r)}`);
  return r;
}

describe("qw dashboard", () => {
  test("takes --http and --http-token; both default to null (127.0.0.1:8080, QW_HTTP_TOKEN)", () => {
    const r = parse(["dashboard", "--stream", "jobs", "--http", "0.0.0.0:9000", "--http-token", "t"]);
    assert.deepEqual([r.command, r.flags.http, r.flags.httpToken], ["dashboard", "0.0.0.0:9000", "t"]);
    const d = parse(["dashboard", "--stream", "jobs"]);
    assert.deepEqual([d.flags.http, d.flags.httpToken], [null, null]);
    const bad = parseCliArgs(["dashboard", "--stream", "jobs", "--http-token", ""]);
    assert.deepEqual(bad, { kind: "error", message: `Cannot serve dashboard as '--http-token' must be a non-empty string: current value is ""` });
    assert.match(helpText(), /qw dashboard \[--http HOST:PORT\] \[--http-token T\]/);
  });

  test("refuses a non-loopback address without a token, and a bad address, with exit 2 and one line", async () => {
    for (const [http, message] of [
      ["0.0.0.0:8080", "qw: Cannot serve the dashboard on '0.0.0.0' without a token: pass --http-token (or QW_HTTP_TOKEN), or bind to 127.0.0.1\n"],
      ["8080", `qw: Cannot serve HTTP as the address must be "host:port": current value is "8080"\n`],
    ]) {
      const cli = parse(["dashboard", "--stream", "jobs", "--http", http, "--server", "nats://127.0.0.1:1"]);
      const config = resolveConfig(cli.options, { env: {}, cpuCount: 1, hostname: "h", pid: 1, purpose: "client" });
      let err = "";
      const code = await runDashboard({
        cli, config, events: new Emitter(), out: () => {}, err: (s) => (err += s), isTTY: false, stdinIsTTY: false,
        ask: () => Promise.resolve(null),
      });
      assert.equal(code, 2);
      assert.equal(err, message);
    }
  });
});
