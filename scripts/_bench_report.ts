/**
 * How scripts/bench.ts prints one server's run: the throughput table (median
 * jobs/s, their range, the ratio to the limit, median CPU per job), where the
 * CPU went, the scale rows, the other measurements, and PASS/MISS per target.
 *
 * @module
 */

import { fmt, out, percentile } from "./_harness.ts";
import { C } from "./_bench_matrix.ts";
import type { ServerResult } from "./_bench_suite.ts";
import type { Target } from "./_bench_targets.ts";

const k = (x: number) => `${fmt(x / 1000, 1)}k`;
const NAME = 62;
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");

/** The main table: per size, median jobs/s, min-max, x the limit, median CPU us/job; then peak RSS. */
export function printTable(r: ServerResult, sizes: number[], reps: number): void {
  const group = (s: string) => s.padStart(40);
  out(
    `${"".padEnd(NAME)}${sizes.map((n) => group(`--- ${n.toLocaleString("en-US")} jobs ---`)).join("")}${
      "peak RSS".padStart(10)
    }`,
  );
  const cols = `${"jobs/s".padStart(9)}${(reps > 1 ? "min-max" : "").padStart(14)}${"x raw".padStart(7)}${
    "CPU us/job".padStart(11)
  }`;
  out(`${"run (median of each)".padEnd(NAME)}${sizes.map(() => cols).join("")}${"MB".padStart(10)}`);
  for (const row of r.rows) {
    const figs = sizes.map((n) => r.matrix[n][row.key]);
    const cells = figs.map((f) => {
      const ratio = f.jobsPerS / r.matrix[sizes[figs.indexOf(f)]].raw.jobsPerS;
      return `${int(f.jobsPerS).padStart(9)}${(reps > 1 ? `${k(f.min)}-${k(f.max)}` : "").padStart(14)}${
        fmt(ratio, 2).padStart(7)
      }${(f.cpuUs === null ? "-" : fmt(f.cpuUs, 1)).padStart(11)}`;
    });
    const rss = Math.max(...figs.map((f) => f.peakRssMb ?? 0));
    const runs = figs[0].runs !== reps ? ` (${figs[0].runs} run${figs[0].runs > 1 ? "s" : ""})` : "";
    const name = row.name + runs + (figs[0].from ? ` [${figs[0].from}]` : "");
    out(`${name.slice(0, NAME - 1).padEnd(NAME)}${cells.join("")}${(rss > 0 ? fmt(rss) : "").padStart(10)}`);
  }
}

/**
 * Where the CPU of a run went, in microseconds per job from the process's
 * start to its last job (start-up included, as for every fresh process): its
 * JavaScript main thread, qw's Web Workers, the JIT compiler threads, the
 * garbage collector's helpers, its other threads, the process in all, and
 * the broker (nats-server, or redis-server for a peer). A peer's processes
 * count as one (a Celery worker with its pool's children).
 */
export function printCpu(r: ServerResult, sizes: number[]): void {
  const cols = ["main", "Web Workers", "JIT", "GC", "other", "process", "broker", "total"];
  out("where the CPU goes: microseconds per job, process start to last job (the run with the median CPU/job)");
  out(`${"run".padEnd(NAME)}${"jobs".padStart(7)}${cols.map((c) => c.padStart(12)).join("")}`);
  for (const n of sizes) {
    for (const row of r.rows) {
      const f = r.matrix[n][row.key];
      if (!f.cpu) continue;
      const us = (ms: number) => fmt((ms * 1000) / n, 1).padStart(12);
      const t = f.cpu.threads;
      const parts = t ? [t.main, t.workers, t.jit, t.gc, t.other].map(us) : Array(5).fill("-".padStart(12));
      const tail = [f.cpu.process, f.cpu.broker, f.cpu.process + f.cpu.broker].map(us);
      out(
        `${row.name.trim().slice(0, NAME - 1).padEnd(NAME)}${`${n / 1000}k`.padStart(7)}${
          [...parts, ...tail].join("")
        }`,
      );
    }
  }
}

/** The scale rows: qw defaults at each job count, median jobs/s and CPU per job, peak RSS. */
export function printScale(r: ServerResult): void {
  out(`scale: qw defaults c=${C} on a pre-published backlog (median of each size's runs)`);
  for (const [n, f] of Object.entries(r.scale).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    out(
      `  ${Number(n).toLocaleString("en-US").padStart(9)} jobs: ${int(f.jobsPerS).padStart(7)} jobs/s, ` +
        `${f.cpuUs === null ? "-" : fmt(f.cpuUs, 1)} us CPU/job, peak RSS ${fmt(f.peakRssMb ?? NaN)} MB (${f.runs} run${
          f.runs > 1 ? "s" : ""
        })`,
    );
  }
}

/** Latency, start-up, RSS and requeue lines. */
export function printOthers(r: ServerResult): void {
  for (const l of r.lat) {
    out(
      `enqueue-to-start at ${fmt(l.rate, 0)} jobs/s, ${l.name} (${l.n} jobs after 1 s warm-up): ` +
        `p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms, max ${fmt(l.max, 2)} ms (load average ${fmt(l.load, 2)})`,
    );
  }
  const sorted = [...r.startMs].sort((a, b) => a - b);
  out(
    `process start to first job run (qw creates the stream, dead-letter stream and results bucket): median ${
      fmt(sorted[Math.floor(sorted.length / 2)], 0)
    } ms (runs: ${r.startMs.map((x) => fmt(x, 0)).join(", ")} ms)`,
  );
  const s = r.soak;
  out(
    `RSS of dist/qw: idle ${fmt(r.idleRssMb)} MB (3 s after its job); over the long run (defaults c=${C}, ${
      fmt(s.jobsPerS / 1000, 1)
    }k jobs/s): at the first job ${fmt(s.start)}, after a tenth ${fmt(s.warm)}, peak ${fmt(s.peak)}, end ${
      fmt(s.end)
    } MB`,
  );
  out(
    `requeued job (Reject requeue=true, acksLate) runs again after: p50 ${
      fmt(percentile(r.requeueMs, 50), 1)
    } ms, max ${fmt(Math.max(...r.requeueMs), 1)} ms (${r.requeueMs.length} jobs)`,
  );
}

export function printTargets(targets: Target[], version: string): void {
  out(`targets (nats-server ${version}):`);
  for (const t of targets) {
    out(`  ${t.ok === null ? "SKIP" : t.ok ? "PASS" : "MISS"}  ${t.name.padEnd(60)} ${t.figure}`);
  }
  const count = (ok: boolean | null) => targets.filter((t) => t.ok === ok).length;
  out(`  ${count(true)} PASS, ${count(false)} MISS${count(null) ? `, ${count(null)} SKIP` : ""}`);
}
