/**
 * Where a run's CPU goes, read from Linux's /proc: the CPU time of each
 * thread of a process, grouped by what the thread does (the JavaScript main
 * thread, qw's Web Workers, the JIT compiler threads, the garbage collector's
 * helpers), and of nats-server. The bench divides it by the jobs of the run,
 * so a qw row and the raw consumer in a fresh process of its own compare
 * per job. Null where /proc is missing (not Linux).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** CPU milliseconds of one process's threads, by group. */
export interface ThreadCpu {
  /** The thread that runs the process's JavaScript (its id is the process id). */
  main: number;
  /** qw's Web Workers (threads named `qw-<n>`). */
  workers: number;
  /** JavaScriptCore's JIT compiler threads. */
  jit: number;
  /** The garbage collector's helper threads. */
  gc: number;
  other: number;
}

const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function groupOf(tid: number, pid: number, name: string): keyof ThreadCpu {
  if (tid === pid) return "main";
  if (/^qw-\d+$/.test(name)) return "workers";
  if (/JIT/i.test(name)) return "jit";
  if (/Heap ?Helper|GC/i.test(name)) return "gc";
  return "other";
}

/** The CPU time of every thread of `pid` so far, grouped; null without /proc or once it exited. */
export function threadCpu(pid: number | undefined): ThreadCpu | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/task`)) return null;
  const cpu: ThreadCpu = { main: 0, workers: 0, jit: 0, gc: 0, other: 0 };
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      } catch {
        continue; // the thread ended meanwhile
      }
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // Fields after the name: state is the 1st, utime the 12th, stime the 13th.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpu[groupOf(Number(t), pid, name)] += (Number(f[11]) + Number(f[12])) * 1000 / TICKS_PER_S;
    }
  } catch {
    return null;
  }
  return cpu;
}

/** Total CPU milliseconds of a process (all its threads); null without /proc. */
export function processCpu(pid: number | undefined): number | null {
  const c = threadCpu(pid);
  return c === null ? null : c.main + c.workers + c.jit + c.gc + c.other;
}

/**
 * Total CPU milliseconds of a process and every process below it (a Celery
 * worker's pool children): each live one's threads, plus what its reaped
 * children used. Null without /proc.
 */
export function treeCpu(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  const stats = new Map<number, { ppid: number; ms: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // After the name: state, ppid, ... utime is the 12th, stime the 13th, cutime and cstime the 14th and 15th.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      stats.set(Number(d), { ppid: Number(f[1]), ms: ticks * 1000 / TICKS_PER_S });
    } catch { /* gone meanwhile */ }
  }
  let total = 0;
  const below = [pid];
  while (below.length > 0) {
    const p = below.pop()!;
    total += stats.get(p)?.ms ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) below.push(child);
  }
  return total;
}

/**
 * What one run cost in CPU (ms): the process measured, from its start to its
 * last job, and the broker meanwhile (nats-server, or redis-server for a peer).
 */
export interface RunCpu {
  /** By thread group, for qw and the NATS references; null for a peer, whose processes count as one. */
  threads: ThreadCpu | null;
  /** The process (and its child processes, for a peer). */
  process: number;
  broker: number;
}

/** A run's CPU from the process's threads and the broker's CPU before and after; null if any is missing. */
export function runCpu(threads: ThreadCpu | null, broker0: number | null, broker1: number | null): RunCpu | null {
  if (threads === null || broker0 === null || broker1 === null) return null;
  const process = threads.main + threads.workers + threads.jit + threads.gc + threads.other;
  return { threads, process, broker: broker1 - broker0 };
}

/** CPU microseconds per job of a run, process and broker together. */
export function cpuUsPerJob(cpu: RunCpu, jobs: number): number {
  return (cpu.process + cpu.broker) * 1000 / jobs;
}

/** The peak resident set of a live process in MB (VmHWM: the kernel's high-water mark), or null. */
export function rssPeakMb(pid: number | undefined): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
