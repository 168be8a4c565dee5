// The README's TypeScript blocks compile against this repository: an example that drifts from the API fails here.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";

/** A fenced block of the README: its info string after the language, and its code. */
interface Block {
  info: string;
  code: string;
}

/** The ```ts blocks of a Markdown text; the info string's words after "ts" name a file or say "no-check". */
export function tsBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^```ts(?:[ \t]+([^\n]*))?\n([\s\S]*?)^```[ \t]*$/gm)) {
    out.push({ info: (m[1] ?? "").trim(), code: m[2] });
  }
  return out;
}

describe("README", () => {
  it("finds the ts blocks with their info strings", () => {
    const md = "a\n```ts tasks.ts\nexport const a = 1;\n```\n```ts\nx;\n```\n```ts no-check\ny\n```\n```python\nz\n```\n";
    assert.deepEqual(tsBlocks(md), [
      { info: "tasks.ts", code: "export const a = 1;\n" },
      { info: "", code: "x;\n" },
      { info: "no-check", code: "y\n" },
    ]);
  });

  it("has TypeScript blocks that type-check against this repository (qw is mod.ts, @qwjobs/qw is client.ts)", { timeout: 120_000 }, () => {
    const blocks = tsBlocks(readFileSync(join(ROOT, "README.md"), "utf8")).filter((b) => b.info !== "no-check");
    assert.ok(blocks.length >= 2, "the tasks and client examples are found");
    // Inside the repository, so the import map of deno.json resolves "qw" and the npm packages.
    const dir = join(ROOT, `.readme-check-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir);
    try {
      const files = blocks.map((b, i) => {
        const name = /^[\w.-]+\.ts$/.test(b.info) ? b.info : `block_${i + 1}.ts`;
        writeFileSync(join(dir, name), b.code);
        return join(dir, name);
      });
      const r = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["check", "--config", join(ROOT, "deno.json"), ...files], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      assert.equal(r.status, 0, `deno check of the README's blocks failed:\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
