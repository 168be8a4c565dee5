/**
 * The figures of scripts/bench.ts from its runs (pure): the median of the
 * repetitions of a configuration, for jobs per second and for CPU per job
 * separately.
 *
 * @module
 */

import { cpuUsPerJob, type RunCpu } from "./_bench_cpu.ts";

/** One run of one configuration. */
export interface Sample {
  jobsPerS: number;
  cpu?: RunCpu | null;
  peakRssMb?: number;
}

/** A configuration's figures at one size: medians of its repetitions. */
export interface Figure {
  /** Median jobs per second. */
  jobsPerS: number;
  min: number;
  max: number;
  /** Median CPU microseconds per job (process and broker), null where not measured. */
  cpuUs: number | null;
  /** The CPU of the run whose CPU per job is the median, for where it went. */
  cpu: RunCpu | null;
  peakRssMb?: number;
  runs: number;
  /** Set when the figure comes from an earlier server's run (the peers run once per bench). */
  from?: string;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The figures of one configuration's samples at `n` jobs. */
export function figureOf(all: Sample[], n: number): Figure {
  const samples = all.filter((s) => Number.isFinite(s.jobsPerS)); // a failed peer run counts as none
  const speeds = samples.map((s) => s.jobsPerS);
  const withCpu = samples.filter((s) => s.cpu).map((s) => ({ s, us: cpuUsPerJob(s.cpu!, n) }));
  withCpu.sort((a, b) => a.us - b.us);
  const mid = withCpu[Math.floor((withCpu.length - 1) / 2)];
  const rss = samples.map((s) => s.peakRssMb ?? 0);
  return {
    jobsPerS: median(speeds),
    min: Math.min(...speeds),
    max: Math.max(...speeds),
    cpuUs: withCpu.length ? median(withCpu.map((x) => x.us)) : null,
    cpu: mid?.s.cpu ?? null,
    peakRssMb: Math.max(...rss) || undefined,
    runs: samples.length,
  };
}
