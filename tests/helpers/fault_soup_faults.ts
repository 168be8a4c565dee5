/**
 * The faults the fault soup's runner (fault_soup.ts) plays around a case's
 * jobs: the qw processes of a rolling restart, a results store that stops
 * answering, revokes of finished and of waiting jobs, and pauses of a task or
 * of the stream.
 *
 * @module
 */

import type { ChildProcess } from "node:child_process";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { Kvm } from "@nats-io/kv";
import { connectClient } from "../../client.ts";
import { openRevoked, putRevoke } from "../../src/client/buckets/revocations.ts";
import { pause, resume } from "../../src/ops/pause_control.ts";
import { spawnQw } from "./cli.ts";
import type { Outage, PauseWindow, SoupCase } from "./fault_soup_case.ts";

type Qw = ChildProcess & { output(): string };
type Exit = { code: number | null; signal: string | null };

/** Longer than any job of the soup (busySync runs up to 3 s), so a SIGTERM cuts none short. */
export const GRACE_S = 6;
/** How long a qw may take to exit after SIGTERM: the grace, open pulls (2 s), hand-backs and acks (5 s), and slack. */
const STOP_MS = (GRACE_S + 14) * 1000;

// A qw left behind by a crashed test or script would hold its jobs forever: kill it on exit.
const live = new Set<Qw>();
const killLive = () => {
  for (const p of live) p.kill("SIGKILL");
};
process.on("exit", killLive);
(globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.("unload", killLive);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One qw process of a case. */
interface Proc {
  no: number;
  qw: Qw;
  exited: Promise<Exit>;
  exit: Exit | null;
  /** It was sent SIGTERM: its exit is expected. */
  told: boolean;
}

/** The qw processes of one case: the first, and one more per rolling restart. */
export class Fleet {
  readonly procs: Proc[] = [];
  readonly problems: string[] = [];
  constructor(readonly args: string[]) {}

  /** Start one more qw on the stream. */
  spawn(): Proc {
    const qw = spawnQw(this.args);
    live.add(qw);
    const p: Proc = { no: this.procs.length + 1, qw, exited: null!, exit: null, told: false };
    p.exited = new Promise<Exit>((r) => qw.once("exit", (code, signal) => r({ code, signal })));
    void p.exited.then((e) => {
      p.exit = e;
      live.delete(qw);
    });
    this.procs.push(p);
    return p;
  }

  /** The newest process. */
  get current(): Proc {
    return this.procs[this.procs.length - 1];
  }

  /** The first process that exited without being told to, if any. */
  unexpected(): Proc | undefined {
    return this.procs.find((p) => p.exit !== null && !p.told);
  }

  /** SIGTERM (process.kill: Deno misreports a child signalled through kill()); SIGKILL when it does not exit in time. */
  async stop(p: Proc): Promise<Exit | null> {
    p.told = true;
    if (p.exit === null && p.qw.exitCode === null && p.qw.signalCode === null) process.kill(p.qw.pid!, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), STOP_MS)));
    const e = await Promise.race([p.exited, late]);
    clearTimeout(timer);
    if (e === null) p.qw.kill("SIGKILL");
    return e;
  }

  killAll(): void {
    for (const p of this.procs) {
      p.told = true;
      if (p.qw.exitCode === null && p.qw.signalCode === null) p.qw.kill("SIGKILL");
    }
  }

  /** The end of each process's log, newest last. */
  logTail(chars = 3_000): string {
    const per = Math.floor(chars / this.procs.length);
    return this.procs.map((p) => {
      const out = p.qw.output().slice(-per).trim();
      return this.procs.length > 1 ? `[qw #${p.no}${p.exit ? ` ${JSON.stringify(p.exit)}` : ""}]\n${out || "(empty)"}` : out;
    }).join("\n");
  }
}

/**
 * A rolling restart: a new qw starts on the stream and, once its worker record
 * is stored (it pulls by then), the newest before it gets SIGTERM and must exit 0.
 */
export async function rollingRestart(fleet: Fleet, nc: NatsConnection, stream: string, unsettled: () => Promise<number>): Promise<string> {
  const old = fleet.current;
  const kv = await new Kvm(nc).open(`qw_${stream}_workers`);
  const keys = async () => new Set(await Array.fromAsync(await kv.keys()));
  const before = await keys().catch(() => new Set<string>());
  const next = fleet.spawn();
  const deadline = Date.now() + 15_000;
  let up = false;
  while (!up && Date.now() < deadline && next.exit === null) {
    up = [...await keys().catch(() => new Set<string>())].some((k) => !before.has(k));
    if (!up) await sleep(20);
  }
  if (!up) fleet.problems.push(`qw #${next.no} of a rolling restart did not store its worker record within 15 s`);
  const open = await unsettled().catch(() => -1);
  const t = Date.now();
  const e = await fleet.stop(old);
  if (e === null) fleet.problems.push(`qw #${old.no} did not exit within ${STOP_MS / 1000} s of SIGTERM in a rolling restart`);
  else if (e.code !== 0) fleet.problems.push(`qw #${old.no} exited ${JSON.stringify(e)} after SIGTERM in a rolling restart, not 0`);
  return `qw #${next.no} up, qw #${old.no} SIGTERM with ${open} jobs unsettled, exit ${e?.code ?? "none"} after ${((Date.now() - t) / 1000).toFixed(1)} s`;
}

/**
 * The results store stops answering for `ms`: its stream stops listening on
 * its subjects (a stream update, as reversible as it is quick), so every
 * result write finds no responder, as when the stream has lost its leader.
 * `outage` is filled in as it goes; the subjects are put back whatever happens.
 */
export async function resultsOutage(jsm: JetStreamManager, stream: string, ms: number, outage: Outage): Promise<void> {
  const name = `KV_qw_${stream}_results`;
  const { subjects } = (await jsm.streams.info(name)).config;
  outage.start = Date.now();
  try {
    await jsm.streams.update(name, { subjects: [`soup_off.${stream}.>`] });
    await sleep(ms);
  } finally {
    await jsm.streams.update(name, { subjects });
    outage.end = Date.now();
  }
}

/** Revokes through the client, as `qw revoke --terminate` does, and straight into the bucket. */
export class Revoker {
  readonly revoked = new Set<string>();
  #client: Awaited<ReturnType<typeof connectClient>> | null = null;
  constructor(readonly server: string, readonly stream: string, readonly problems: string[]) {}

  async #get() {
    return (this.#client ??= await connectClient({ servers: this.server, stream: this.stream }));
  }

  /** Revoke jobs not published yet: the client must store each revoke. */
  async waiting(ids: string[]): Promise<void> {
    const client = await this.#get();
    for (const id of ids) {
      const r = await client.revoke(id, { terminate: true });
      if (!r.revoked) this.problems.push(`revoke of '${id}' before it was published was refused (state ${r.state})`);
      this.revoked.add(id);
    }
  }

  /**
   * Revoke a job whose SUCCESS is stored. The client sees it ended and stores
   * nothing; the revoke is then stored all the same, as when the client read the
   * state just before the result landed (the check and the put are not atomic),
   * so every qw process sees a revoke with terminate for a finished job.
   */
  async done(id: string): Promise<void> {
    const client = await this.#get();
    const r = await client.revoke(id, { terminate: true });
    if (r.revoked || r.state !== "SUCCESS") {
      this.problems.push(`revoke of '${id}' after its SUCCESS was stored answered ${JSON.stringify(r)}, not {"revoked":false,"state":"SUCCESS"}`);
    }
    const kv = await openRevoked(client.nc, `qw_${this.stream}_revoked`, 86_400);
    await putRevoke(kv, { id, terminate: true, at: new Date().toISOString() });
    this.revoked.add(id);
  }

  async close(): Promise<void> {
    await this.#client?.close();
  }
}

/** Every fault of a case in time order, one after the other (a restart never overlaps the outage). */
export function faultPlan(c: SoupCase): Array<{ atMs: number; kind: "restart" } | { atMs: number; kind: "outage"; ms: number }> {
  const plan: Array<{ atMs: number; kind: "restart" } | { atMs: number; kind: "outage"; ms: number }> = c.restarts.map((atMs) => ({
    atMs,
    kind: "restart" as const,
  }));
  if (c.outage) plan.push({ atMs: c.outage.atMs, kind: "outage", ms: c.outage.ms });
  return plan.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Play a case's pauses in turn from `t0` (epoch ms), as `qw pause` and `qw
 * resume` do (ops/pause_control.ts): each window is pushed to `windows` once
 * its pause is stored and closed just before its resume is sent, so the
 * checker's window is never wider than the pause was.
 */
export async function playPauses(
  nc: NatsConnection,
  stream: string,
  c: SoupCase,
  o: { t0: number; windows: PauseWindow[]; go: () => boolean },
): Promise<string[]> {
  const timeline: string[] = [];
  const target = { stream, consumer: `qw_${stream}` };
  for (const p of c.pauses) {
    await sleep(Math.max(0, o.t0 + p.atMs - Date.now()));
    if (!o.go()) break;
    const what = p.task === null ? "stream" : `task ${p.task}`;
    const at = Date.now() - o.t0;
    const r = await pause(nc, { ...target, task: p.task }, { until: null, by: "soup@test" });
    const w: PauseWindow = { task: p.task, from: Date.now(), to: null };
    o.windows.push(w);
    try {
      await sleep(p.ms);
    } finally {
      w.to = Date.now();
      await resume(nc, { ...target, task: p.task });
    }
    timeline.push(`+${at} ms pause ${what} ${p.ms} ms${r.consumerPaused ? " (consumers paused on the server)" : ""}`);
  }
  return timeline;
}
