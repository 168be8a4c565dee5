/**
 * Dead letters end to end: every way a job is rejected lands on
 * `<stream>_dlq` with its reason, and `qw dlq ls/show/replay/purge` manage
 * them; a replayed job runs again. A real nats-server for the file.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { parseCliArgs } from "../../src/cli/args.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { runDlq } from "../../src/cli/commands/cmd_dlq.ts";
import { Emitter, type QwEvent } from "../../src/core/events.ts";
import { type Service, startService } from "../../src/worker/service.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 30_000 };
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = new URL("../../src/", import.meta.url).href;

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let dir: string;
let gateFile: string;
let svc: Service;
const events: QwEvent[] = [];
const stream = `dlq_${Date.now().toString(36)}`;
const dlqStream = `${stream}_dlq`;

const tasks = (gate: string) => `
import { existsSync } from "node:fs";
import { task } from ${JSON.stringify(SRC + "core/task/task.ts")};
import { Reject } from ${JSON.stringify(SRC + "core/errors.ts")};
export function add(a, b) { return a + b; }
export function nope() { throw new Reject("Not today"); }
export const lateNope = task({ acksLate: true }, () => { throw new Reject("Not today either"); });
export const lostTwice = task({ acksLate: true, rejectOnWorkerLost: true }, () => {
  setTimeout(() => { throw new Error("Web Worker dies"); }, 0);
  return new Promise(() => {});
});
export const requeueForever = task({ acksLate: true }, () => { throw new Reject("Later", { requeue: true }); });
export const failLate = task({ acksLate: true, acksOnFailureOrTimeout: false }, () => { throw new Error("nope late"); });
export function gate() {
  if (!existsSync(${JSON.stringify(gate)})) throw new Reject("Gate closed");
  return "open";
}
`;

before(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  dir = mkdtempSync(join(tmpdir(), "qw-dlq-"));
  gateFile = join(dir, "gate-open");
  writeFileSync(join(dir, "tasks.mjs"), tasks(gateFile));
  const cfg = resolveConfig(
    {
      server: server.url,
      stream,
      tasks: join(dir, "tasks.mjs"),
      concurrency: 2,
      maxDeliveries: 2,
      results: false,
      grace: 1,
    },
    { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
  );
  svc = await startService(cfg);
  svc.events.on((e) => events.push(e));
});

after(async () => {
  await svc?.close("test over", { graceSeconds: 0 });
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `qw dlq ...` in this process; resolves to the exit code and what it printed. */
function dlq(...args: string[]): Promise<{ code: number; out: string; err: string; asked: string[] }> {
  return dlqOnTerminal(undefined, ...args);
}

/** `qw dlq ...` with a terminal on stdin that answers `answer` (undefined: stdin is not a terminal). */
async function dlqOnTerminal(answer: string | null | undefined, ...args: string[]) {
  const parsed = parseCliArgs([
    "dlq",
    ...args,
    "--server",
    server.url,
    ...(args.includes("--stream") ? [] : ["--stream", stream]),
  ]);
  assert.equal(parsed.kind, "command");
  if (parsed.kind !== "command") throw new Error("unreachable");
  const config = resolveConfig(parsed.options, { env: {}, cpuCount: 1, hostname: "test", pid: 1, purpose: "client" });
  let out = "";
  let err = "";
  const asked: string[] = [];
  const code = await runDlq({
    cli: parsed,
    config,
    events: new Emitter(),
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: false,
    stdinIsTTY: answer !== undefined,
    ask: (question) => {
      asked.push(question);
      return Promise.resolve(answer ?? null);
    },
  });
  return { code, out, err, asked };
}

async function list(): Promise<Record<string, unknown>[]> {
  const r = await dlq("ls", "--json");
  assert.equal(r.code, 0);
  return r.out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

const count = async (name: string) => (await jsm.streams.info(name)).state.messages;

function publish(task: string, body: string, id?: string) {
  const h = headers();
  if (id !== undefined) h.set("Qw-Id", id);
  return js.publish(`${stream}.${task}`, body, { headers: h });
}

/** The qw CLI as a separate process with the runtime running this test. */
function qw(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = "Deno" in globalThis ? ["run", "-A", "cli.ts", ...args] : ["cli.ts", ...args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const body = (...args: unknown[]) => JSON.stringify({ args });
const seqs: Record<string, number> = {};

describe("dead letters", () => {
  it(
    "receive every rejected job with its reason, original sequence and deliveries, and leave the work stream empty",
    SLOW,
    async () => {
      const jobs: [string, string, string | undefined][] = [
        ["nope", body(), "nope-1"],
        ["lateNope", body(), "late-1"],
        ["ghost", body(), undefined],
        ["add", "{not json", "bad-1"],
        ["lostTwice", body(), "lost-1"],
        ["requeueForever", body(), "cap-1"],
        ["failLate", body(), "fail-1"],
        ["gate", body(), "gate-1"],
      ];
      for (const [task, data, id] of jobs) seqs[task] = (await publish(task, data, id)).seq;
      await waitFor(async () => (await count(dlqStream)) === 8, {
        timeoutMs: 20_000,
        message: "Not every job was dead-lettered",
      });
      await waitFor(async () => (await count(stream)) === 0, { message: "The work stream kept messages" });

      const byTask = Object.fromEntries((await list()).map((d) => [d.task, d]));
      const expect: Record<string, [RegExp, number]> = {
        nope: [/^Not today$/, 1],
        lateNope: [/^Not today either$/, 1],
        ghost: [new RegExp(`^Unknown task 'ghost' \\(subject '${stream}\\.ghost'\\)$`), 1],
        add: [/^Body is not valid JSON: /, 1],
        lostTwice: [/^Web Worker lost twice: the job was already redelivered once$/, 2],
        requeueForever: [/^Delivered 2 times, the cap of 'maxDeliveries' is 2$/, 2],
        failLate: [/^Task failed with Error: nope late$/, 1],
        gate: [/^Gate closed$/, 1],
      };
      assert.deepEqual(Object.keys(byTask).sort(), Object.keys(expect).sort());
      for (const [task, [reason, deliveries]] of Object.entries(expect)) {
        const d = byTask[task];
        assert.match(d.reason as string, reason, task);
        assert.equal(d.deliveries, deliveries, task);
        assert.equal(d.originalSeq, seqs[task], task);
        assert.equal(d.originalSubject, `${stream}.${task}`);
        assert.ok(!Number.isNaN(Date.parse(d.at as string)));
      }
      assert.equal(byTask.ghost.id, null);
      assert.equal(byTask.gate.id, "gate-1");
      assert.deepEqual(byTask.nope.error, { name: "Reject", message: "Not today" });
      assert.deepEqual(byTask.failLate.error, { name: "Error", message: "nope late" });
    },
  );

  it("are listed as a table and shown with headers and body", SLOW, async () => {
    const ls = await dlq("ls");
    assert.equal(ls.code, 0);
    const lines = ls.out.trimEnd().split("\n");
    assert.match(lines[0], /^SEQ +TASK +ID +ORIG SEQ +DELIVERIES +DEAD-LETTERED AT +REASON$/);
    assert.ok(lines.some((l) => /^\d+ +gate +gate-1 +/.test(l)), ls.out);
    assert.equal(lines.length, 9);
    const gate = (await list()).find((d) => d.task === "gate")!;
    const show = await dlq("show", String(gate.seq));
    assert.equal(show.code, 0);
    assert.match(show.out, new RegExp(`^Dead letter ${gate.seq} \\(${dlqStream}\\.gate\\)\\n`));
    assert.match(show.out, /\n {2}Qw-Id: gate-1\n/);
    assert.match(show.out, /\n {2}Qw-Dlq-Reason: Gate closed\n/);
    assert.ok(show.out.endsWith(`\n${body()}\n`));
    const json = JSON.parse((await dlq("show", String(gate.seq), "--json")).out);
    assert.equal(json.body, body());
    assert.equal(json.reason, "Gate closed");
  });

  it(
    "replay one job with its id and retries reset, which then runs, and delete it from the dead letters",
    SLOW,
    async () => {
      const gate = (await list()).find((d) => d.task === "gate")!;
      writeFileSync(gateFile, "");
      const r = await dlq("replay", String(gate.seq));
      assert.equal(r.code, 0);
      assert.match(
        r.out,
        new RegExp(`^Replayed dead letter ${gate.seq} as job 'gate-1' on '${stream}\\.gate' \\(seq \\d+\\)\\n$`),
      );
      const done = await waitFor(() => events.find((e) => e.type === "job.succeeded" && e.task === "gate"), {
        message: "The replayed job never ran",
      });
      assert.equal(done.type === "job.succeeded" && done.id, "gate-1");
      assert.equal(done.type === "job.succeeded" && done.retries, 0);
      assert.equal((await list()).some((d) => d.seq === gate.seq), false);
      await assert.rejects(dlq("show", String(gate.seq)), {
        message: `Cannot find dead letter ${gate.seq} in stream '${dlqStream}': run 'qw dlq ls' to list them`,
      });
    },
  );

  it("replay --all re-enqueues every dead letter; those that fail again come back", SLOW, async () => {
    const before = (await list()).map((d) => d.seq as number);
    assert.equal(before.length, 7);
    const r = await dlq("replay", "--all");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`\\nReplayed 7 of 7 dead letters from stream '${dlqStream}'\\n$`));
    await waitFor(async () => (await list()).length === 7, {
      timeoutMs: 20_000,
      message: "Replayed jobs did not fail again",
    });
    const after = await list();
    assert.equal(after.some((d) => before.includes(d.seq as number)), false);
    assert.equal(after.find((d) => d.task === "ghost")!.id, `${stream}:${seqs.ghost}`);
  });

  it("purge refuses without --yes when stdin is not a terminal, and deletes nothing", SLOW, async () => {
    const r = await dlq("purge");
    assert.equal(r.code, 2);
    assert.match(r.err, /^qw: Cannot purge dead letters as '--yes' must be given when stdin is not a terminal/);
    assert.equal((await jsm.streams.info(dlqStream)).state.messages, 7);
    const piped = await qw(["dlq", "purge", "--stream", stream, "--server", server.url]);
    assert.equal(piped.code, 2);
    assert.equal(piped.stderr.split("\n").length, 2, piped.stderr);
    assert.equal((await jsm.streams.info(dlqStream)).state.messages, 7);
  });

  it("purge asks on a terminal and deletes nothing unless the answer is yes", SLOW, async () => {
    for (const answer of ["n", "", null]) {
      const r = await dlqOnTerminal(answer, "purge");
      assert.equal(r.code, 1);
      assert.deepEqual(r.asked, [`Purge 7 dead letters from stream '${dlqStream}'? This cannot be undone [y/N] `]);
      assert.equal(r.err, "qw: Purge cancelled: no dead letter was deleted\n");
      assert.equal((await jsm.streams.info(dlqStream)).state.messages, 7);
    }
  });

  it("purge deletes every dead letter with --yes", SLOW, async () => {
    const r = await dlq("purge", "--yes");
    assert.equal(r.code, 0);
    assert.equal(r.out, `Purged 7 dead letters from stream '${dlqStream}'\n`);
    assert.equal((await dlq("ls")).out, `No dead letters in stream '${dlqStream}'\n`);
    assert.equal((await dlq("ls", "--json")).out, "");
  });

  it("report an unknown stream with a one-line error", SLOW, async () => {
    await assert.rejects(dlq("ls", "--stream", "nosuch"), {
      message:
        "Cannot list dead letters of stream 'nosuch' as stream 'nosuch_dlq' does not exist (stream not found): start a worker with --stream nosuch first",
    });
  });

  it("answer an unknown sequence from the CLI with one line on stderr and exit 1", SLOW, async () => {
    const r = await qw(["dlq", "show", "99999", "--stream", stream, "--server", server.url]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `qw: Cannot find dead letter 99999 in stream '${dlqStream}': run 'qw dlq ls' to list them\n`,
    );
    const replay = await qw(["dlq", "replay", "99999", "--stream", stream, "--server", server.url]);
    assert.equal(replay.code, 1);
    assert.equal(replay.stderr.split("\n").length, 2);
  });
});
