/**
 * Issue 25's targets, judged on one server's run (pure: figures in, PASS or
 * MISS out). Each throughput target is judged twice: on jobs per second and
 * on CPU time per job (process and broker; for a ratio "qw >= Nx the other",
 * the other's CPU per job over qw's), every figure the median of the
 * repetitions of one run.
 *
 * @module
 */

const fmt = (n: number, digits = 1): string => Number.isFinite(n) ? n.toFixed(digits) : "n/a";
import type { Figure } from "./_bench_stats.ts";
import type { ServerResult } from "./_bench_suite.ts";

/** A target; `ok: null` when this run could not measure it. */
export interface Target {
  name: string;
  ok: boolean | null;
  figure: string;
}

/** The --no-results floor against the limit, by size: 0.7x from 100,000 jobs, 0.6x below. */
export const pipelineFloor = (n: number): number => (n >= 100_000 ? 0.7 : 0.6);

const x = (r: number) => `${fmt(r, 2)}x`;
const pct = (r: number) => `${fmt(r * 100, 0)}%`;

/** `qw >= floor x other`, on jobs/s and on CPU per job: two targets. */
function ratio(name: string, qw: Figure | undefined, other: Figure | undefined, floor: number): Target[] {
  if (!qw || !other || other.runs === 0) {
    return [{
      name: `${name} (jobs/s, CPU/job)`,
      ok: null,
      figure: other ? "every run failed" : "not measured in this run",
    }];
  }
  const speed = qw.jobsPerS / other.jobsPerS;
  const note = other.from ? ` (${other.from})` : "";
  const out: Target[] = [{ name: `${name}, jobs/s`, ok: speed >= floor, figure: x(speed) + note }];
  if (qw.cpuUs !== null && other.cpuUs !== null) {
    const cpu = other.cpuUs / qw.cpuUs;
    out.push({
      name: `${name}, CPU/job`,
      ok: cpu >= floor,
      figure: `${x(cpu)} (${fmt(qw.cpuUs, 1)} vs ${fmt(other.cpuUs, 1)} us)${note}`,
    });
  } else out.push({ name: `${name}, CPU/job`, ok: null, figure: "no CPU figure (no /proc?)" });
  return out;
}

/** Every target of one server's run. */
export function targets(r: ServerResult, sizes: number[]): Target[] {
  const t: Target[] = [];
  for (const n of sizes) {
    const f = r.matrix[n];
    const k = `${n / 1000}k`;
    const floor = pipelineFloor(n);
    t.push(...ratio(`${k}: --no-results early ack >= ${floor}x the limit`, f.noResults, f.raw, floor));
    t.push(...ratio(`${k}: --no-results --acks-late >= ${floor}x the limit`, f.noResultsLate, f.raw, floor));
    t.push(...ratio(`${k}: defaults >= 1.3x plain consumer + results`, f.defaults, f.rawResults, 1.3));
    t.push(...ratio(`${k}: defaults >= 2x BullMQ inline c=50`, f.defaults, f.bullInline, 2));
    t.push(...ratio(`${k}: defaults >= 10x Celery prefork`, f.defaults, f.celeryPrefork, 10));
    t.push(...ratio(`${k}: defaults >= 10x Celery threads`, f.defaults, f.celeryThreads, 10));
    const cost = 1 - f.events.jobsPerS / f.noResults.jobsPerS;
    t.push({ name: `${k}: events cost <= 10% (vs --no-events), jobs/s`, ok: cost <= 0.1, figure: pct(cost) });
    if (f.events.cpuUs !== null && f.noResults.cpuUs !== null) {
      const cpuCost = f.events.cpuUs / f.noResults.cpuUs - 1;
      t.push({ name: `${k}: events cost <= 10% (vs --no-events), CPU/job`, ok: cpuCost <= 0.1, figure: pct(cpuCost) });
    }
  }
  for (const l of r.lat) {
    if (!l.target) continue;
    t.push({
      name: `p99 enqueue-to-start < ${l.target.p99Ms} ms at ${l.target.rate}/s, c=${l.target.concurrency}`,
      ok: l.p99 < l.target.p99Ms,
      figure: `${fmt(l.p99, 2)} ms (${fmt(l.rate, 0)}/s sent)`,
    });
  }
  const startMedian = [...r.startMs].sort((a, b) => a - b)[Math.floor(r.startMs.length / 2)];
  t.push({
    name: "start to first job < 60 ms (median of 3)",
    ok: startMedian < 60,
    figure: `${fmt(startMedian, 0)} ms`,
  });
  // The backlog of BENCH_SCALE (1,000,000 jobs) against the largest size of the table (100,000).
  const base = Math.max(...sizes);
  const big = Math.max(...Object.keys(r.scale).map(Number));
  const [bigF, baseF] = [r.scale[big], r.scale[base]];
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const [kb, kbase] = [label(big), label(base)];
  if (big > base && bigF.cpuUs !== null && baseF.cpuUs !== null) {
    const d = bigF.cpuUs / baseF.cpuUs - 1;
    t.push({
      name: `${kb} backlog: CPU/job at most 15% above the ${kbase} run`,
      ok: d <= 0.15,
      figure: `${d >= 0 ? "+" : ""}${pct(d)} (${fmt(bigF.cpuUs, 1)} vs ${fmt(baseF.cpuUs, 1)} us)`,
    });
    t.push({
      name: `${kb} backlog: RSS peak < 200 MB`,
      ok: (bigF.peakRssMb ?? Infinity) < 200,
      figure: `${fmt(bigF.peakRssMb ?? NaN)} MB`,
    });
  } else {
    t.push({ name: "1M backlog: CPU/job within 15% of 100k, RSS < 200 MB", ok: null, figure: "not run (BENCH_QUICK or BENCH_SCALE=0)" });
  }
  t.push({ name: "idle RSS < 80 MB", ok: r.idleRssMb < 80, figure: `${fmt(r.idleRssMb)} MB` });
  const s = r.soak;
  t.push({
    name: `RSS flat over the long run (end <= 1.5x after a tenth)`,
    ok: s.end <= 1.5 * s.warm,
    figure: `${fmt(s.end / s.warm, 2)}x (${fmt(s.warm)} -> ${fmt(s.end)} MB)`,
  });
  const rq = Math.max(...r.requeueMs);
  t.push({ name: "requeued job re-runs < 100 ms", ok: rq < 100, figure: `max ${fmt(rq, 1)} ms` });
  return t;
}
