// The npm package: `npm pack` builds JavaScript and type declarations, the tarball installs into a fresh
// project, and a Node script and a Bun script enqueue a job and read its result from a running dist/qw.
// Its tasks side, `@qwjobs/qw/tasks`, type-checks a tasks file with tsc (and `"qw"` with the paths entry
// the README gives), and dist/qw runs that same file, imports and all.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { connectClient } from "../../src/client/client.ts";
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

/** A tasks file as its author writes it in an editor: task, Reject, Retry, a bound context, currentTask. */
const TASKS = `
import { currentTask, Reject, Retry, task, type TaskContext, type TaskOptions } from "@qwjobs/qw/tasks";

const options: TaskOptions = { acksLate: true, maxRetries: 2 };

export function add(a: number, b: number): number {
  return a + b;
}

export const charge = task({ ...options, bind: true }, (ctx: TaskContext, amount: number) => {
  if (amount < 0) throw new Reject(\`Cannot charge \${amount}\`);
  if (ctx.retries < 1) throw new Retry("The gateway was busy", { countdown: 0.1 });
  return \`charged \${amount} on attempt \${ctx.retries + 1}\`;
});

export function whoami(): string {
  return currentTask().name;
}
`;

/** What the declarations refuse, as an editor would underline it. */
const WRONG = `
import { Retry, task } from "@qwjobs/qw/tasks";
// @ts-expect-error a typo in an option name
export const typo = task({ acksLAte: true }, () => 1);
// @ts-expect-error countdown is a number of seconds
export const later = () => new Retry("x", { countdown: "soon" });
`;

/** The README's one step for \`import ... from "qw"\`: a paths entry to the package's declarations. */
const QW_PATHS = { qw: ["./node_modules/@qwjobs/qw/dist/npm/tasks.d.ts"] };

describe("the npm package", () => {
  let dir = "";
  let app = "";
  let server: NatsServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "qw-package-"));
    server = await NatsServer.start();
    run("npm", ["pack", "--pack-destination", dir], ROOT);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote a tarball");
    app = join(dir, "app");
    run("mkdir", [app], dir);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    run("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball)], app);
  }, { timeout: 300_000 });

  after(async () => {
    await server?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("packs, installs from the tarball, and lets Node and Bun enqueue and read a result", { timeout: 300_000 }, async () => {
    let qw: ReturnType<typeof spawnQw> | null = null;
    try {
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
    }
  });

  it("types a tasks file at @qwjobs/qw/tasks (and at \"qw\" with the README's paths entry) that dist/qw runs as it is", { timeout: 300_000 }, async () => {
    writeFileSync(join(app, "tasks.ts"), TASKS);
    writeFileSync(join(app, "tasks_qw.ts"), TASKS.replace(`from "@qwjobs/qw/tasks"`, `from "qw"`));
    writeFileSync(join(app, "wrong.ts"), WRONG);
    const compilerOptions = { strict: true, module: "nodenext", target: "es2022", lib: ["es2022", "dom"], noEmit: true, types: [], paths: QW_PATHS };
    writeFileSync(join(app, "tsconfig.tasks.json"), JSON.stringify({ compilerOptions, files: ["tasks.ts", "tasks_qw.ts", "wrong.ts"] }));
    run("tsc", ["-p", "tsconfig.tasks.json"], app);

    // Both import names resolve inside dist/qw, next to the installed package too.
    for (const [n, file] of ["tasks.ts", "tasks_qw.ts"].entries()) {
      const stream = `pkgtasks${n}`;
      const qw = spawnQw(["--stream", stream, "--tasks", join(app, file), "--server", server.url]);
      const client = await connectClient({ servers: server.url, stream });
      try {
        await qwStarted(qw);
        const result = async (task: string, args: unknown[]) => await client.result(await client.enqueue(task, args), { timeout: 20 });
        assert.deepEqual((await result("charge", [5])).result, "charged 5 on attempt 2", file);
        assert.equal((await result("whoami", [])).result, "whoami", file);
        const rejected = await result("charge", [-1]);
        assert.equal(rejected.state, "FAILURE", file);
        assert.match(rejected.error!.message, /Cannot charge -1/);
      } finally {
        await client.close();
        await qwStop(qw);
      }
    }
  });
});
