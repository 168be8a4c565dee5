/**
 * Network faults against the real product: a 3-node nats-server cluster and
 * three `dist/qw` processes, each in its own network namespace joined by a
 * bridge (scripts/net/netns.ts), cut, slowed, frozen and killed by the
 * scenarios of scripts/net/scenarios.ts. Every execution is recorded outside
 * qw by the fixture tasks; the checker (scripts/net/checker.ts) reads that
 * history and the server's final state and prints one line per run:
 *
 *   <scenario> seed S, hit H: jobs N, done D, lost L, duplicates X, early twice E, results missing R,
 *     held K, dead Z, recover s A, flows F, stalled S, bodies twice B, ticks T, missed M, doubled D,
 *     refused P, drain s B, seconds T[ -- FAIL: ...]
 *
 * then one summary line per scenario. Needs root, `ip` and `nft`
 * (scripts/ensure_nftables.sh). It runs itself again inside a namespace of
 * its own, so even the harness's client traffic stays in the run's network,
 * and removes every namespace of the run when it ends, however it ends.
 *
 *   bun scripts/net_chaos.ts                       every scenario once (make chaos-net)
 *   bun scripts/net_chaos.ts --only qw-frozen,node-kill9 --runs 5 --seed 7
 *   bun scripts/net_chaos.ts --list                the scenarios and what each shows
 *   bun scripts/net_chaos.ts --keep                keep the temp dir (logs, record files)
 *   bun scripts/net_chaos.ts --short               two scenarios at a fifth of the load; where network
 *                                                  namespaces cannot be made it says so in one line and exits 0
 *
 * Run r of a scenario uses seed S + r (S defaults to 1): `--seed` with the
 * printed seed replays a run's schedule. Exits 1 if any run broke a promise.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { out, QW_BIN, ROOT, tempDir } from "./_harness.ts";
import { serverBin, serverVersion } from "../tests/helpers/nats_server.ts";
import { reportLine } from "./net/checker.ts";
import { Net, removeNamespaces, removeStale, runPrefix, sh } from "./net/netns.ts";
import { NODES, progress, QWS, runOnce } from "./net/run.ts";
import { scaled, SCENARIOS, SHORT } from "./net/scenarios.ts";

const argv = process.argv.slice(2);
const arg = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] ?? "" : null;
};
const fail = (msg: string): never => {
  out(`chaos-net: ${msg}`);
  process.exit(2);
};

if (argv.includes("--list")) {
  for (const s of SCENARIOS) out(`${s.name}: ${s.shows}`);
  process.exit(0);
}
const RUNS = Number(arg("--runs") ?? 1);
const SEED = Number(arg("--seed") ?? 1);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) fail(`--runs takes a positive integer, not '${arg("--runs")}'`);
if (!Number.isSafeInteger(SEED)) fail(`--seed takes an integer, not '${arg("--seed")}'`);
const SHORT_RUN = argv.includes("--short");
const only = arg("--only") ?? (SHORT_RUN ? SHORT.names.join(",") : null);
const selected = (only === null ? SCENARIOS : only.split(",").map((n) => SCENARIOS.find((s) => s.name === n) ?? fail(`no scenario '${n}' (see --list)`)))
  .map((s) => scaled(s, SHORT_RUN ? SHORT.scale : 1));
if (!existsSync(QW_BIN)) fail(`${QW_BIN} is missing: build it first`);
// The server the project tests against, as `make chaos-net` sets it; not whatever nats-server is on the PATH
// (Debian's is 2.9.10, whose full discard-new stream loses messages: README, "Network faults").
const TOOLS_SERVER = join(ROOT, ".tools", "bin", "nats-server");
if (!process.env.NATS_SERVER_BIN && existsSync(TOOLS_SERVER)) process.env.NATS_SERVER_BIN = TOOLS_SERVER;
const SERVER = `nats-server ${serverVersion().join(".")} (${serverBin()})`;
/** No namespaces here: a short run (CI) says so in one line and passes; a full run fails. */
const unavailable = (why: string): never => {
  out(`chaos-net: network namespaces are unavailable (${why}): skipped ${selected.map((s) => s.name).join(", ")}`);
  process.exit(SHORT_RUN ? 0 : 2);
};

const PREFIX = process.env.QW_NET_PREFIX;
if (!PREFIX) {
  // The outer process: check the tools, sweep what aborted runs left, make the harness's namespace and run
  // this script again inside it; remove the run's namespaces whatever happens.
  if (process.getuid?.() !== 0) unavailable("not root");
  for (const tool of ["ip", "nft"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) unavailable(`'${tool}' is missing: run scripts/ensure_nftables.sh`);
  }
  const stale = removeStale();
  if (stale > 0) out(`chaos-net: removed ${stale} namespace(s) left by aborted runs`);
  const prefix = runPrefix();
  process.on("exit", () => removeNamespaces(prefix));
  try {
    sh("ip", ["netns", "add", `${prefix}-ctl`]);
  } catch (e) {
    unavailable((e as Error).message);
  }
  const child = spawn("ip", ["netns", "exec", `${prefix}-ctl`, process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, QW_NET_PREFIX: prefix },
  });
  // Not the harness's handlers (exit at once): the harness inside must stop its processes before the
  // namespaces go, so the signal is passed on and this process exits when it has.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(sig);
    process.on(sig, () => child.kill(sig));
  }
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
} else {
  await inner(PREFIX);
}

async function inner(prefix: string): Promise<void> {
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));
  const net = Net.create(prefix, [["ctl", 2], ...NODES.map((n, i) => [n, 11 + i] as [string, number]), ...QWS.map((q, i) => [q, 21 + i] as [string, number])]);
  const tmp = tempDir("qw-chaos-net-");
  const keep = argv.includes("--keep");
  out(`chaos-net: ${selected.length} scenario(s) x ${RUNS} run(s), seeds from ${SEED}, ${SERVER}, network ${prefix} (${net.addr("ctl")}/24), temp ${tmp.path}`);
  let failed = false;
  try {
    for (const s of selected) {
      let runs = 0, bad = 0, lostLate = 0, twice = 0, stale = 0, held = 0, dups = 0, noResult = 0;
      let stalled = 0, bodies = 0, bodiesAgain = 0, missed = 0, excused = 0, doubled = 0, refused = 0, ticks = 0, unconfirmed = 0;
      const recover: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const seed = SEED + r;
        const dir = join(tmp.path, `${s.name}-${seed}`);
        mkdirSync(dir, { recursive: true });
        try {
          const x = await runOnce(net, s, seed, dir);
          const v = x.report.violations;
          runs++;
          if (v.length) bad++;
          lostLate += v.some((l) => l.startsWith("lost")) ? x.report.lost : 0;
          held += x.report.held;
          dups += x.report.duplicates;
          twice += x.report.earlyTwice;
          stale += x.report.staleRuns;
          noResult += x.report.resultsMissing + x.report.earlyResultsMissing;
          if (x.report.recoverSeconds !== null) recover.push(x.report.recoverSeconds);
          stalled += x.report.flowsStalled;
          bodies += x.report.bodiesTwice;
          bodiesAgain += x.report.bodiesRedelivered;
          ticks += x.report.ticks;
          missed += x.report.ticksMissed;
          excused += x.report.ticksExcused;
          doubled += x.report.ticksDoubled;
          refused += x.report.refused;
          unconfirmed += x.report.unconfirmedDropped;
          out(`${s.name} seed ${seed}, hit ${x.hit}: ${reportLine(x.report)}, seconds ${x.seconds.toFixed(1)}${v.length ? ` -- FAIL: ${v.join("; ")}` : ""}`);
        } catch (e) {
          runs++;
          bad++;
          out(`${s.name} seed ${seed}: -- FAIL: ${(e as Error).message.split("\n")[0]}`);
        }
        if (bad > 0) failed = true;
      }
      const maxRecover = recover.length ? Math.max(...recover).toFixed(1) : "n/a";
      out(`= ${s.name}: runs ${runs}, failed ${bad}, acksLate lost ${lostLate}, held ${held}, duplicates ${dups}, early twice ${twice} (stale ${stale}), ` +
        `results missing ${noResult}, flows stalled ${stalled}, bodies twice ${bodies} (redelivered ${bodiesAgain}), ` +
        `ticks ${ticks}, missed ${missed} (excused ${excused}), doubled ${doubled}, refused ${refused}, max recover s ${maxRecover}` +
        (unconfirmed ? `, early dropped unconfirmed ${unconfirmed}` : ""));
    }
  } finally {
    if (keep) progress(`kept ${tmp.path}`);
    else tmp.cleanup();
  }
  process.exit(failed ? 1 : 0);
}
