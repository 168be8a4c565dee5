/**
 * Jobs per second over the last minutes, from samples of the work stream's
 * state: its last sequence counts every message ever stored (enqueued jobs,
 * retries, released delays, replays), and, as the stream has work-queue
 * retention, what is no longer stored was acked or removed. Pure: samples
 * carry their own time.
 *
 * @module
 */

/** One reading of the work stream's state. */
export interface StreamSample {
  /** Epoch milliseconds. */
  at: number;
  /** `state.last_seq`: messages ever stored. */
  lastSeq: number;
  /** `state.messages`: stored now. */
  messages: number;
}

/** Columns for the chart: times in epoch seconds and rates per second between samples. */
export interface RatePoints {
  t: number[];
  /** Messages stored per second: jobs enqueued, retried, released from a delay or replayed. */
  enqueued: number[];
  /** Messages that left the stream per second: acked by a worker (at start, or at the end with acksLate) or removed. */
  acked: number[];
}

/** Keep at most this many samples (10 minutes at one a second). */
export const RATE_SAMPLES = 600;

/** A bounded history of samples. */
export class RateHistory {
  #samples: StreamSample[] = [];
  #max: number;

  constructor(max = RATE_SAMPLES) {
    this.#max = max;
  }

  /** Add a sample; one not later than the last is ignored. */
  add(s: StreamSample): void {
    const last = this.#samples.at(-1);
    if (last !== undefined && s.at <= last.at) return;
    this.#samples.push(s);
    if (this.#samples.length > this.#max) this.#samples.splice(0, this.#samples.length - this.#max);
  }

  /** Rates between consecutive samples; a purge or a recreated stream gives 0, never a negative rate. */
  points(): RatePoints {
    const out: RatePoints = { t: [], enqueued: [], acked: [] };
    const s = this.#samples;
    for (let i = 1; i < s.length; i++) {
      const dt = (s[i].at - s[i - 1].at) / 1000;
      const stored = s[i].lastSeq - s[i - 1].lastSeq;
      const gone = s[i].lastSeq - s[i].messages - (s[i - 1].lastSeq - s[i - 1].messages);
      out.t.push(Math.round(s[i].at / 1000));
      out.enqueued.push(round(Math.max(0, stored) / dt));
      out.acked.push(round(Math.max(0, gone) / dt));
    }
    return out;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
