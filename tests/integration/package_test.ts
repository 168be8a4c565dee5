// The npm package: `npm pack` builds JavaScript and type declarations, the tarball installs into a fresh
// project, and a Node script and a Bun script enqueue a job and read its result from a running dist/qw.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ROOT, spawnQw } from "../helpers/cli.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { qwStarted, qwStop } from "../helpers/suite.ts";

const BIN = join(ROOT, "node_modules/.bin");
/** npm runs `prepack` (tsc) with node_modules/.bin first on PATH. */
const PATH = [BIN, process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(delimiter);

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, PATH, NO_COLOR: "1" }, timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const SCRIPT = `
import { connectClient } from "@qwjobs/qw";
const [server, stream] = process.argv.slice(2);
const client = await connectClient({ servers: server, stream });
const id = await client.enqueue("add", [2, 3]);
const record = await client.result(id, { timeout: 20 });
console.log(JSON.stringify({ state: record.state, result: record.result }));
await client.close();
`;

const TYPED = `
import { connectClient, type TaskResult } from "@qwjobs/qw";
const client = await connectClient({ servers: "nats://127.0.0.1:4222", stream: "jobs" });
const record: TaskResult = await client.result(await client.enqueue("add", [2, 3]), { timeout: 1 });
// @ts-expect-error the declarations are real: a number is not a server list
await connectClient({ servers: 42, stream: "jobs" });
export const state: string = record.state;
`;

describe("the npm package", () => {
  it("packs, installs from the tarball, and lets Node and Bun enqueue and read a result", { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "qw-package-"));
    const server = await NatsServer.start();
    let qw: ReturnType<typeof spawnQw> | null = null;
    try {
      run("npm", ["pack", "--pack-destination", dir], ROOT);
      const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
      assert.ok(tarball, "npm pack wrote a tarball");

      const app = join(dir, "app");
      run("mkdir", [app], dir);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
      run("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball)], app);
      const pkg = join(app, "node_modules/@qwjobs/qw");
      assert.ok(existsSync(join(pkg, "dist/npm/client.js")) && existsSync(join(pkg, "dist/npm/client.d.ts")));
      assert.ok(!existsSync(join(pkg, "src")), "only the build is packed");
      writeFileSync(join(app, "enqueue.mjs"), SCRIPT);
      writeFileSync(join(app, "typed.ts"), TYPED);

      const stream = "pkg";
      qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/ok.ts", "--server", server.url]);
      await qwStarted(qw);
      for (const runtime of ["node", join(BIN, "bun")]) {
        const out = run(runtime, ["enqueue.mjs", server.url, stream], app);
        assert.deepEqual(JSON.parse(out), { state: "SUCCESS", result: 5 }, runtime);
      }
      // A TypeScript app type-checks against the declarations (and would fail on a wrong call).
      // esnext.disposable: the client, like the NATS client under it, is AsyncDisposable (or use @types/node).
      const compilerOptions = { strict: true, module: "nodenext", target: "es2022", lib: ["es2022", "esnext.disposable", "dom"], noEmit: true, types: [] };
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["typed.ts"] }));
      run("tsc", ["-p", "."], app);
    } finally {
      if (qw !== null) await qwStop(qw);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
