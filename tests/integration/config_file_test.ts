// The config file round-trips: what `--print-config` prints, `--config` reads back as the same config.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasStackTrace, runQw } from "../helpers/cli.ts";

const SLOW = { timeout: 60_000 };

describe("config file", () => {
  it("--print-config prints a file that --config reads back as the same config", SLOW, async () => {
    const dir = mkdtempSync(join(tmpdir(), "qw-config-"));
    try {
      const first = await runQw(["--print-config", "--stream", "jobs", "--tasks", "t.ts", "--acks-late", "--max-retries", "none", "--tls-ca", "/ca"]);
      assert.equal(first.code, 0, first.stderr);
      const file = join(dir, "qw.json");
      writeFileSync(file, first.stdout);
      const second = await runQw(["--print-config", "--config", file]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
      assert.equal(JSON.parse(second.stdout).tlsCa, "/ca");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--print-config without --stream prints the defaults", SLOW, async () => {
    const r = await runQw(["--print-config"]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.equal(printed.connectTimeout, 30);
    assert.equal(printed.maxRetries, 3);
    assert.ok(!("stream" in printed));
  });

  it("an unknown key is one line listing the valid keys, naming the command's attempt", SLOW, async () => {
    const dir = mkdtempSync(join(tmpdir(), "qw-config-"));
    try {
      const file = join(dir, "qw.json");
      writeFileSync(file, JSON.stringify({ stream: "jobs", concurency: 2 }));
      const r = await runQw(["enqueue", "--config", file, "add", "1"]);
      assert.equal(r.code, 2);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.match(r.stderr.trim(), /^qw: Cannot enqueue job as config file key 'concurency' must be one of 'server', .*'nkeyFile', .*'tlsCa', .*'concurrency'/);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
