/**
 * The house's rules, checked: imports run down the layers (cli -> worker ->
 * ops -> client -> core), core imports neither NATS nor a runtime (but for
 * its one seam, runtime.ts), the pool never imports NATS, no circles (the
 * rules live in .dependency-cruiser.json, read by dependency-cruiser), no
 * file under src/ over 300 lines and no folder with more than 14 files.
 *
 *   node_modules/.bin/depcruise --config .dependency-cruiser.json src mod.ts cli.ts client.ts
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise } from "dependency-cruiser";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAX_LINES = 300;
const MAX_FILES_PER_FOLDER = 14;

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** The rule set's violations for `entries` under `baseDir`. */
async function violations(baseDir: string, entries: string[]): Promise<Violation[]> {
  const cfg = JSON.parse(readFileSync(join(ROOT, ".dependency-cruiser.json"), "utf8"));
  const here = process.cwd();
  // dependency-cruiser resolves the rules' paths against the working directory.
  process.chdir(baseDir);
  try {
    const { output } = await cruise(entries, { ...cfg.options, ruleSet: { forbidden: cfg.forbidden }, validate: true });
    if (typeof output === "string") throw new Error(`Unexpected dependency-cruiser output: ${output.slice(0, 200)}`);
    return output.summary.violations as Violation[];
  } finally {
    process.chdir(here);
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? [p, ...walk(p)] : [p];
  });
}

describe("the layout's rules", () => {
  it("imports run down the layers, with no circles", async () => {
    const found = await violations(ROOT, ["src", "mod.ts", "cli.ts", "client.ts"]);
    assert.deepEqual(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
  });

  it("the rules catch an import up the layers, NATS or a runtime in core, and a circle", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qw-layout-"));
    try {
      const files: Record<string, string> = {
        "src/core/decide.ts": 'import { run } from "../worker/run.ts";\nimport { connect } from "@nats-io/nats-core";\nexport const d = [run, connect];\n',
        "src/core/clock.ts": 'import os from "node:os";\nexport const c = os;\n',
        "src/worker/run.ts": 'import { b } from "./b.ts";\nexport const run = b;\n',
        "src/worker/b.ts": 'import { run } from "./run.ts";\nexport const b = () => run;\n',
        "src/ops/look.ts": 'import { run } from "../worker/run.ts";\nexport const l = run;\n',
      };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        writeFileSync(join(dir, p), text);
      }
      const names = new Set((await violations(dir, ["src"])).map((v) => `${v.rule.name}: ${v.from}`));
      for (
        const expected of [
          "core-imports-only-core: src/core/decide.ts",
          "core-without-nats: src/core/decide.ts",
          "core-without-runtime: src/core/clock.ts",
          "ops-imports-client-and-core: src/ops/look.ts",
          "no-circular: src/worker/",
        ]
      ) assert.ok([...names].some((n) => n.startsWith(expected)), `expected '${expected}' among ${JSON.stringify([...names])}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`no file under src/ has more than ${MAX_LINES} lines`, () => {
    const long = walk(join(ROOT, "src"))
      .filter((p) => /\.[jt]s$/.test(p))
      .map((p) => [relative(ROOT, p), readFileSync(p, "utf8").split("\n").length - 1] as const)
      .filter(([, n]) => n > MAX_LINES);
    assert.deepEqual(long, []);
  });

  it(`no folder under src/ holds more than ${MAX_FILES_PER_FOLDER} files`, () => {
    const crowded = [join(ROOT, "src"), ...walk(join(ROOT, "src")).filter((p) => statSync(p).isDirectory())]
      .map((d) => [relative(ROOT, d), readdirSync(d).filter((n) => statSync(join(d, n)).isFile()).length] as const)
      .filter(([, n]) => n > MAX_FILES_PER_FOLDER);
    assert.deepEqual(crowded, []);
  });
});
