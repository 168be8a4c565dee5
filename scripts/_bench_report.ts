/**
 * How scripts/bench.ts prints: one table with a column group per job count,
 * and one PASS/MISS line per target.
 *
 * @module
 */

import { fmt, out } from "./_harness.ts";
import type { RunCpu } from "./_bench_cpu.ts";

/** One configuration's figures, one per job count. */
export interface Row {
  name: string;
  bySize: { jobsPerS: number; worst: number; ratio: number; peakRssMb?: number }[];
}

/** A target; `ok: null` when this run could not measure it. */
export interface Target {
  name: string;
  ok: boolean | null;
  figure: string;
}

const k = (x: number) => `${fmt(x / 1000, 1)}k`;
const NAME = 64;

export function printTable(rows: Row[], sizes: number[], reps: number): void {
  const group = (s: string) => s.padStart(30);
  out(
    `${"".padEnd(NAME)}${sizes.map((n) => group(`--- ${n.toLocaleString("en-US")} jobs ---`)).join("")}${
      "peak RSS".padStart(10)
    }`,
  );
  const cols = `${"jobs/s".padStart(9)}${(reps > 1 ? "range" : "").padStart(14)}${"x raw".padStart(7)}`;
  out(`${"run".padEnd(NAME)}${sizes.map(() => cols).join("")}${"MB".padStart(10)}`);
  for (const r of rows) {
    const cells = r.bySize.map((s) =>
      `${Math.round(s.jobsPerS).toLocaleString("en-US").padStart(9)}${
        (reps > 1 ? `${k(s.worst)}-${k(s.jobsPerS)}` : "").padStart(14)
      }${fmt(s.ratio, 2).padStart(7)}`
    );
    const rss = Math.max(...r.bySize.map((s) => s.peakRssMb ?? 0));
    out(`${r.name.padEnd(NAME)}${cells.join("")}${(rss > 0 ? fmt(rss) : "").padStart(10)}`);
  }
}

export function printTargets(targets: Target[]): void {
  out("targets:");
  for (const t of targets) {
    out(`  ${t.ok === null ? "SKIP" : t.ok ? "PASS" : "MISS"}  ${t.name.padEnd(56)} ${t.figure}`);
  }
  const missed = targets.filter((t) => t.ok === false).length;
  out(
    `  ${targets.filter((t) => t.ok).length} PASS, ${missed} MISS${
      targets.some((t) => t.ok === null) ? `, ${targets.filter((t) => t.ok === null).length} SKIP` : ""
    }`,
  );
}

/** One run's CPU, for {@linkcode printCpu}. */
export interface CpuRow {
  name: string;
  n: number;
  cpu: RunCpu;
}

/**
 * Where the CPU of a run went, in microseconds per job from the process's
 * start to its last job (start-up included, as for every fresh process):
 * its JavaScript main thread, qw's Web Workers, the JIT compiler threads,
 * the garbage collector's helpers, its other threads, and nats-server.
 */
export function printCpu(rows: CpuRow[]): void {
  const cols = ["main", "Web Workers", "JIT", "GC", "other", "nats-server", "total"];
  out(`where the CPU goes: microseconds per job, from process start to the last job (the best run of each row)`);
  out(`${"run".padEnd(NAME)}${"jobs".padStart(8)}${cols.map((c) => c.padStart(12)).join("")}`);
  for (const r of rows) {
    const p = r.cpu.process;
    const parts = [p.main, p.workers, p.jit, p.gc, p.other, r.cpu.natsServer];
    const total = parts.reduce((a, b) => a + b, 0);
    const us = (ms: number) => fmt((ms * 1000) / r.n, 1).padStart(12);
    out(`${r.name.slice(0, NAME - 1).padEnd(NAME)}${`${r.n / 1000}k`.padStart(8)}${[...parts, total].map(us).join("")}`);
  }
}
