/**
 * How scripts/bench.ts prints: one table with a column group per job count,
 * and one PASS/MISS line per target.
 *
 * @module
 */

import { fmt, out } from "./_harness.ts";

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
