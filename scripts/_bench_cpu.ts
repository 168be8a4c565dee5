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

/** `after - before`, group by group. */
export function cpuSince(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  return {
    main: after.main - before.main,
    workers: after.workers - before.workers,
    jit: after.jit - before.jit,
    gc: after.gc - before.gc,
    other: after.other - before.other,
  };
}

/** What one run cost in CPU: the process measured (start to last job) and nats-server meanwhile. */
export interface RunCpu {
  process: ThreadCpu;
  natsServer: number;
}
