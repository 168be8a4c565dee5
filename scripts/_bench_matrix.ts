/**
 * The throughput configurations of scripts/bench.ts and how they are run:
 * every configuration once per repetition, in turn (on a shared machine the
 * others' load then spreads over all of them), and the median of the
 * repetitions of each (_bench_stats.ts).
 *
 * @module
 */

import { rawFresh, type RawMode, rawWarm, RESULT_WINDOW } from "./_bench_raw.ts";
import { type QwEnv, type QwFlags, qwThroughput } from "./_bench_qw.ts";
import { type Figure, figureOf, type Sample } from "./_bench_stats.ts";
import { KEYS } from "./_bench_shapes.ts";
import type { BullmqPeer } from "./_peer_bullmq.ts";
import type { CeleryPeer } from "./_peer_celery.ts";

/** The concurrency of every qw throughput row (the issue's). */
export const C = 2;
/** The pipeline alone: no results, no events, no line per job. */
export const PIPELINE = { results: false, events: false, logLevel: "warning" } as const;

/** Figures by size, then by configuration key. */
export type { Figure, Sample };
export type Matrix = Record<number, Record<string, Figure>>;

export interface Config {
  key: string;
  name: string;
  /** A peer on Redis: the same whatever the nats-server. */
  peer?: boolean;
  /** A peer of about a thousand jobs/s (Celery): minutes a run, so run `celeryReps` times. */
  slow?: boolean;
  run(n: number): Promise<Sample>;
}

/** One run; a peer's failure (it runs on software the bench installed) is reported and left out, not fatal. */
async function runOne(cfg: Config, n: number, progress: (s: string) => void): Promise<Sample> {
  if (!cfg.peer) return await cfg.run(n);
  try {
    return await cfg.run(n);
  } catch (e) {
    progress(`${cfg.name.trim()} failed: ${(e as Error).message}`);
    return { jobsPerS: NaN };
  }
}

/** Run every configuration `reps` times (a peer `peerReps` times, Celery `celeryReps`) at each size, in turn; the medians. */
export async function runMatrix(
  configs: Config[],
  sizes: number[],
  reps: { reps: number; peerReps: number; celeryReps: number },
  progress: (s: string) => void,
): Promise<Matrix> {
  const matrix: Matrix = {};
  for (const n of sizes) {
    const samples: Record<string, Sample[]> = {};
    for (let rep = 1; rep <= reps.reps; rep++) {
      for (const cfg of configs) {
        const of = cfg.slow ? reps.celeryReps : cfg.peer ? reps.peerReps : reps.reps;
        if (rep > of) continue;
        progress(`${n.toLocaleString("en-US")} jobs: ${cfg.name.trim()} (${rep}/${of})`);
        (samples[cfg.key] ??= []).push(await runOne(cfg, n, progress));
      }
    }
    matrix[n] = Object.fromEntries(configs.map((cfg) => [cfg.key, figureOf(samples[cfg.key], n)]));
  }
  return matrix;
}

/** What the configurations run against. */
export interface ConfigEnv extends QwEnv {
  natsPid: number;
  /** dist/qw knows --events (else it publishes events unless told --no-events). */
  eventsFlag: boolean;
  extra: boolean;
  bullmq?: BullmqPeer | null;
  celery?: CeleryPeer | null;
  /** Stream names unique within the bench. */
  newStream(prefix: string): string;
}

/** The rows of the main table, the limit first. */
export function configs(env: ConfigEnv): Config[] {
  const { c, url, natsPid, newStream } = env;
  const qw = (key: string, name: string, f: QwFlags): Config => ({
    key,
    name,
    run: (n) => qwThroughput(env, newStream("QW"), n, f),
  });
  const fresh = (key: string, name: string, mode: RawMode): Config => ({
    key,
    name,
    run: (n) => rawFresh(c, url, natsPid, newStream(key.toUpperCase()), n, mode),
  });
  const warm = (key: string, name: string, mode: RawMode): Config => ({
    key,
    name,
    run: async (n) => ({ jobsPerS: await rawWarm(c, newStream(key.toUpperCase()), n, mode) }),
  });
  const list: (Config | false)[] = [
    fresh("raw", "plain consumer, own pull requests, early ack (the limit)", "lean"),
    fresh("rawConsume", "  the same through the client's consume()", "ack"),
    env.extra && warm("rawWarm", "  the same, warm: in the bench's own process", "ack"),
    fresh("rawResults", `plain consumer + 1 KV create/msg, <=${RESULT_WINDOW} in flight (with results)`, "wire"),
    env.extra && warm("rawResultsWarm", "  the same, warm: in the bench's own process", "wire"),
    env.extra && fresh("rawResultsKv", "  the same through kv.create(), a request per write", "kv"),
    qw("defaults", `qw defaults, concurrency ${C} (results on, events off)`, { concurrency: C }),
    qw("priorities", `  the same, jobs spread over priorities 0-9`, { concurrency: C, shape: "priorities" }),
    qw("keys", `  the same, jobs under ${KEYS} concurrency keys, limit 2 each`, { concurrency: C, shape: "keys" }),
    qw("noResults", `qw --no-results --no-events, early ack, c=${C}`, { ...PIPELINE, concurrency: C }),
    qw("noResultsLate", `qw --no-results --no-events --acks-late, c=${C}`, {
      ...PIPELINE,
      concurrency: C,
      acksLate: true,
    }),
    env.extra && qw("confirmAck", `qw --no-results --no-events --confirm-ack, c=${C}`, {
      ...PIPELINE,
      concurrency: C,
      confirmAck: true,
    }),
    qw("events", `qw --no-results ${env.eventsFlag ? "--events" : "(events on by default)"}, early ack, c=${C}`, {
      results: false,
      logLevel: PIPELINE.logLevel,
      ...(env.eventsFlag ? { events: true } : {}),
      concurrency: C,
    }),
  ];
  const bull = env.bullmq;
  if (bull) {
    list.push(
      {
        key: "bullInline",
        name: "BullMQ inline processor, concurrency 50",
        peer: true,
        run: (n) => bull.run(n, { mode: "inline", concurrency: 50 }),
      },
      {
        key: "bullThreads",
        name: "BullMQ sandboxed, worker threads, c=10",
        peer: true,
        run: (n) => bull.run(n, { mode: "threads", concurrency: 10 }),
      },
    );
  }
  const celery = env.celery;
  if (celery) {
    list.push(
      { key: "celeryPrefork", name: "Celery -P prefork -c <CPUs>", peer: true, slow: true, run: (n) => celery.run(n, "prefork") },
      { key: "celeryThreads", name: "Celery -P threads -c <CPUs>", peer: true, slow: true, run: (n) => celery.run(n, "threads") },
    );
  }
  return list.filter((x): x is Config => x !== false);
}
