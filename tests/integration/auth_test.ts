/**
 * Every NATS auth form against a real nats-server configured for it: user
 * and password, token, NKey seed file, credentials (JWT) file, and TLS with
 * a CA and a client certificate. Each accepts a worker and the CLI (flags
 * and environment variables) and refuses a bad secret with a one-line error
 * that does not contain it. JWTs are signed here with NKeys (no `nsc`),
 * certificates made with `openssl`.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nkeys } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { type QwOptions, resolveConfig } from "../../src/core/config/config.ts";
import { openConnection } from "../../src/client/connection.ts";
import type { QwEvent } from "../../src/core/events.ts";
import { startService } from "../../src/worker/service.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 30_000 };
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TASKS = fileURLToPath(new URL("../fixtures/tasks/ok.ts", import.meta.url));
const isDeno = "Deno" in globalThis;
const dir = mkdtempSync(join(tmpdir(), "qw-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One auth form: the server's config, and good and bad client settings as options, flags and env. */
interface Form {
  name: string;
  server(): string;
  /** The same good secret as environment variables and as flags. */
  good(): { env: Record<string, string>; flags: string[] };
  bad(): { options: QwOptions; flags: string[]; secret: string };
  /** The refusal's message after "qw: Cannot connect to NATS at '<url>'". */
  refused: RegExp;
}

const AUTH_REFUSED = /^ as the server refused the credentials: .*authorization violation/i;

const userPassword: Form = {
  name: "user and password",
  server: () => `authorization { user: alice, password: "pw-Good-1" }`,
  good: () => ({
    env: { QW_NATS_USER: "alice", QW_NATS_PASSWORD: "pw-Good-1" },
    flags: ["--user", "alice", "--password", "pw-Good-1"],
  }),
  bad: () => ({
    options: { user: "alice", password: "pw-Wrong-2" },
    flags: ["--user", "alice", "--password", "pw-Wrong-2"],
    secret: "pw-Wrong-2",
  }),
  refused: AUTH_REFUSED,
};

const token: Form = {
  name: "token",
  server: () => `authorization { token: "tok-Good-1" }`,
  good: () => ({ env: { QW_NATS_TOKEN: "tok-Good-1" }, flags: ["--token", "tok-Good-1"] }),
  bad: () => ({ options: { token: "tok-Wrong-2" }, flags: ["--token", "tok-Wrong-2"], secret: "tok-Wrong-2" }),
  refused: AUTH_REFUSED,
};

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

const nkey = (() => {
  const user = nkeys.createUser();
  const stranger = nkeys.createUser();
  const file = (name: string, kp: typeof user) => {
    const path = join(dir, name);
    writeFileSync(path, decode(kp.getSeed()) + "\n", { mode: 0o600 });
    return path;
  };
  return {
    name: "NKey seed file",
    server: () => `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`,
    good: () => ({ env: { QW_NATS_NKEY_FILE: file("user.nk", user) }, flags: ["--nkey-file", join(dir, "user.nk")] }),
    bad: () => ({
      options: { nkeySeedFile: file("stranger.nk", stranger) },
      flags: ["--nkey-file", join(dir, "stranger.nk")],
      secret: decode(stranger.getSeed()),
    }),
    refused: AUTH_REFUSED,
  } satisfies Form;
})();

/** An NKey-signed JWT, as `nsc` would write it. */
function jwt(issuer: ReturnType<typeof nkeys.createOperator>, sub: string, name: string, nats: object): string {
  const b64 = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
  const header = b64(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const jti = b64(crypto.getRandomValues(new Uint8Array(16)));
  const payload = b64(
    JSON.stringify({ jti, iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub, nats }),
  );
  return `${header}.${payload}.${b64(issuer.sign(new TextEncoder().encode(`${header}.${payload}`)))}`;
}

const creds = (() => {
  const op = nkeys.createOperator();
  const [account, sys, stranger] = [nkeys.createAccount(), nkeys.createAccount(), nkeys.createAccount()];
  const user = nkeys.createUser();
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const js = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const userClaims = { type: "user", version: 2, pub: {}, sub: {}, subs: -1, data: -1, payload: -1 };
  const accountJwt = (a: typeof op, name: string, limits: object) =>
    jwt(op, a.getPublicKey(), name, { type: "account", version: 2, limits });
  const file = (name: string, issuer: typeof op) => {
    const userJwt = jwt(issuer, user.getPublicKey(), "qw", userClaims);
    const path = join(dir, name);
    writeFileSync(
      path,
      `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${decode(user.getSeed())}\n------END USER NKEY SEED------\n`,
      { mode: 0o600 },
    );
    return path;
  };
  return {
    name: "credentials (JWT) file",
    server: () =>
      [
        `operator: "${jwt(op, op.getPublicKey(), "qw-test", { type: "operator", version: 2 })}"`,
        `system_account: ${sys.getPublicKey()}`,
        "resolver: MEMORY",
        "resolver_preload: {",
        `  ${account.getPublicKey()}: "${accountJwt(account, "app", { ...unlimited, ...js })}"`,
        `  ${sys.getPublicKey()}: "${accountJwt(sys, "SYS", unlimited)}"`,
        "}",
      ].join("\n"),
    good: () => ({
      env: { QW_NATS_CREDS_FILE: file("user.creds", account) },
      flags: ["--creds-file", join(dir, "user.creds")],
    }),
    // Signed by an account the server does not know.
    bad: () => ({
      options: { credsFile: file("stranger.creds", stranger) },
      flags: ["--creds-file", join(dir, "stranger.creds")],
      secret: decode(user.getSeed()),
    }),
    refused: AUTH_REFUSED,
  } satisfies Form;
})();

const tls = (() => {
  const pem = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const sign = (csr: string, ca: string, out: string, ...ext: string[]) =>
    ssl(
      ...`x509 -req -in ${csr} -CA ${ca}.pem -CAkey ${ca}-key.pem -CAcreateserial -out ${out} -days 2`.split(" "),
      ...ext,
    );
  let made = false;
  const make = () => {
    if (made) return;
    made = true;
    for (const ca of ["ca", "other-ca"]) {
      ssl("req", "-x509", ...key, "-keyout", `${ca}-key.pem`, "-out", `${ca}.pem`, "-days", "2", "-subj", `/CN=${ca}`);
    }
    writeFileSync(pem("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    ssl("req", ...key, "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    sign("server.csr", "ca", "server.pem", "-extfile", "san.ext");
    ssl("req", ...key, "-keyout", "client-key.pem", "-out", "client.csr", "-subj", "/CN=qw");
    sign("client.csr", "ca", "client.pem");
    sign("client.csr", "other-ca", "client-other.pem");
  };
  return {
    name: "TLS with a CA and a client certificate",
    server: () => {
      make();
      const [cert, key, ca] = ["server.pem", "server-key.pem", "ca.pem"].map((f) => JSON.stringify(pem(f)));
      return `tls { cert_file: ${cert}, key_file: ${key}, ca_file: ${ca}, verify: true }`;
    },
    good: () => ({
      env: {
        QW_NATS_TLS_CA: pem("ca.pem"),
        QW_NATS_TLS_CERT: pem("client.pem"),
        QW_NATS_TLS_KEY: pem("client-key.pem"),
      },
      flags: ["--tls-ca", pem("ca.pem"), "--tls-cert", pem("client.pem"), "--tls-key", pem("client-key.pem")],
    }),
    // A certificate the server's CA did not sign.
    bad: () => ({
      options: { tlsCaFile: pem("ca.pem"), tlsCertFile: pem("client-other.pem"), tlsKeyFile: pem("client-key.pem") },
      flags: ["--tls-ca", pem("ca.pem"), "--tls-cert", pem("client-other.pem"), "--tls-key", pem("client-key.pem")],
      secret: "PRIVATE KEY",
    }),
    // Go before 1.21 (2.9.10) alerts "bad certificate", after (2.15.3) "unknown CA".
    refused: /^ as the server refused the credentials: .*(bad[ _]?certificate|unknown[ _]?ca\b)/i,
  } satisfies Form;
})();

/** The qw CLI as a separate process with the runtime running this test. */
function qw(args: string[], env: Record<string, string> = {}, until?: (stderr: string) => boolean) {
  const argv = isDeno ? ["run", "-A", "cli.ts", ...args] : ["cli.ts", ...args];
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const r = { child, stdout: "", stderr: "" };
  let signalled = false;
  child.stdout.on("data", (d) => (r.stdout += d));
  child.stderr.on("data", (d) => {
    r.stderr += d;
    if (!signalled && until?.(r.stderr)) {
      signalled = true;
      // process.kill, not child.kill: Deno's child.kill() reports every exit as killed by the signal.
      process.kill(child.pid!, "SIGTERM");
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return Object.assign(r, { exit });
}

let n = 0;
const config = (url: string, stream: string, auth: QwOptions, env: Record<string, string> = {}) =>
  resolveConfig(
    { server: url, stream, tasks: TASKS, concurrency: 1, results: false, connectTimeout: 1, grace: 1, ...auth },
    { env, cpuCount: 1, hostname: "test", pid: 1 },
  );

for (const form of [userPassword, token, nkey, creds, tls]) {
  describe(`auth: ${form.name}`, () => {
    let server: NatsServer;
    const stream = `auth${++n}_${Date.now().toString(36)}`;
    before(async () => {
      server = await NatsServer.start({ config: form.server() });
    });
    after(() => server.stop());

    it("accepts a worker configured by environment variables, which then runs a job", SLOW, async () => {
      const cfg = config(server.url, stream, {}, form.good().env);
      const svc = await startService(cfg);
      const events: QwEvent[] = [];
      svc.events.on((e) => events.push(e));
      const nc = await openConnection(cfg);
      try {
        await jetstream(nc).publish(`${stream}.add`, JSON.stringify({ args: [2, 3] }));
        await waitFor(() => events.some((e) => e.type === "job.succeeded"), { message: "The job never ran" });
      } finally {
        await nc.close();
        await svc.close("test over");
      }
    });

    it("accepts the CLI with the secret in flags", SLOW, async () => {
      const r = qw(["dlq", "ls", "--stream", stream, "--server", server.url, ...form.good().flags]);
      assert.equal(await r.exit, 0, r.stderr);
      assert.equal(r.stdout, `No dead letters in stream '${stream}_dlq'\n`);
    });

    it("refuses a bad secret with a one-line error that does not show it, and exit 1", {
      ...SLOW,
      skip: skipRefusal(form),
    }, async () => {
      const bad = form.bad();
      const r = qw(["dlq", "ls", "--stream", stream, "--server", server.url, "--connect-timeout", "1", ...bad.flags]);
      assert.equal(await r.exit, 1);
      assert.equal(r.stdout, "");
      const prefix = `qw: Cannot connect to NATS at '${server.url}'`;
      assert.ok(r.stderr.startsWith(prefix), r.stderr);
      assert.match(r.stderr.slice(prefix.length), form.refused);
      assert.equal(r.stderr.split("\n").length, 2, `not one line: ${r.stderr}`);
      assert.ok(!r.stderr.includes(bad.secret));
      await assert.rejects(startService(config(server.url, stream, bad.options)), (e: Error) => {
        assert.ok(e.message.startsWith(prefix.slice(4)) && !e.message.includes("\n"), e.message);
        return true;
      });
    });
  });
}

/**
 * Nothing is skipped since src/client/connection.ts caps TLS at 1.2 when a client
 * certificate is set (a TLS 1.3 refusal crashed the Deno client); kept so a
 * form can be skipped with its reason written here.
 */
function skipRefusal(_form: Form): string | false {
  return false;
}

describe("secrets", () => {
  it("are masked by --print-config", SLOW, async () => {
    const r = qw([
      "--tasks",
      TASKS,
      ..."--print-config --stream s --user alice --password pw-Print-3 --token tok-Print-4".split(" "),
    ]);
    assert.equal(await r.exit, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.equal(printed.password, "***");
    assert.equal(printed.token, "***");
    assert.equal(printed.user, "alice");
    assert.ok(!r.stdout.includes("pw-Print-3") && !r.stdout.includes("tok-Print-4"));
  });

  it("never appear in a worker's debug log", SLOW, async () => {
    const server = await NatsServer.start({ config: userPassword.server() });
    try {
      await quietWorker(server);
    } finally {
      await server.stop();
    }
  });
});

/** A worker CLI with a password, logging at debug, runs a job and stops on SIGTERM. */
async function quietWorker(server: NatsServer): Promise<void> {
  const stream = `auth_log_${Date.now().toString(36)}`;
  const args = [
    "run",
    "--stream",
    stream,
    "--tasks",
    TASKS,
    "--server",
    server.url,
    ..."--concurrency 1 --no-results".split(" "),
  ];
  const secret = "--log-level debug --user alice --password pw-Good-1".split(" ");
  const worker = qw([...args, ...secret], {}, (s) => s.includes("succeeded"));
  await waitFor(() => worker.stderr.includes("worker started"), { message: "The worker never started" });
  const nc = await openConnection(config(server.url, stream, {}, userPassword.good().env));
  await jetstream(nc).publish(`${stream}.add`, JSON.stringify({ args: [1, 2] }));
  await nc.close();
  assert.equal(await worker.exit, 0, worker.stderr);
  assert.match(worker.stderr, /add\[\S+\] succeeded/);
  assert.ok(!worker.stderr.includes("pw-Good-1"));
}
