// The nats CLI (.tools/bin/nats, built by `make install`) as a client from
// outside: jobs it publishes in the README's wire format, headers and all, are
// run by dist/qw, and their results are read back with `nats kv get`.
// Skipped, with how to build it, when the CLI is missing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ResultRecord } from "../../src/client/buckets/result_store.ts";
import { ROOT, runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const NATS = resolve(ROOT, ".tools/bin/nats");
const SKIP = existsSync(NATS) ? false : "nats CLI not found at '.tools/bin/nats': 'make install' builds it";
// Bun's runner does not print a skip's reason: say it here.
if (SKIP) console.error(`nats_cli_test.ts: skipped: ${SKIP}`);

/** Run the nats CLI; HOME is the suite's temp dir, so no context of the user's applies. */
function nats(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home };
    execFile(NATS, args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe("the nats CLI as a client from outside", { skip: SKIP }, () => {
  const t = useServer("nats-cli");

  it("runs jobs published with 'nats pub' and their headers; 'nats kv get' reads their results", { timeout: 60_000 }, async () => {
    const stream = "cli";
    const server = ["--server", t.srv.url];
    const init = await runQw(["init", "--stream", stream, ...server]);
    assert.equal(init.code, 0, init.stderr);
    const worker = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/ok.ts", ...server]);
    try {
      await qwStarted(worker);
      const pub = (subject: string, headers: string[]) =>
        nats(["pub", ...server, "--jetstream", subject, '{"args": [2, 3]}', ...headers.flatMap((h) => ["-H", h])], t.dir);
      const now = await pub(`${stream}.add`, ["Nats-Msg-Id:order-42", "Qw-Id:order-42", "Qw-Retries:1"]);
      assert.equal(now.code, 0, now.stderr);
      const eta = Date.now() + 1_500;
      const later = await pub(`${stream}._delayed.add`, ["Nats-Msg-Id:order-43", `Qw-Eta:${eta}`]);
      assert.equal(later.code, 0, later.stderr);

      const result = (id: string) =>
        waitFor(async () => {
          const r = await nats(["kv", "get", ...server, `qw_${stream}_results`, id, "--raw"], t.dir);
          return r.code === 0 && r.stdout.trim() !== "" ? JSON.parse(r.stdout) as ResultRecord : null;
        }, { timeoutMs: 15_000, intervalMs: 200, message: () => `a result for '${id}': ${worker.output()}` });
      const first = await result("order-42");
      assert.deepEqual(
        [first.id, first.task, first.state, first.result, first.retries, first.deliveryCount],
        ["order-42", "add", "SUCCESS", 5, 1, 1],
      );
      const delayed = await result("order-43");
      assert.deepEqual([delayed.id, delayed.state, delayed.result, delayed.retries], ["order-43", "SUCCESS", 5, 0]);
      assert.ok(delayed.finishedAt >= eta, `ran ${eta - delayed.finishedAt} ms before its eta`);
    } finally {
      assert.equal(await qwStop(worker), 0, worker.output());
    }
  });
});
