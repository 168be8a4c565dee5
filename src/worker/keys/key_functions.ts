/**
 * The tasks' `concurrency.key` functions, run in a Web Worker of their own:
 * the host never imports the tasks file, and a key must not wait behind the
 * pool's jobs. Spawned at the first job that needs a key computed (a job of a
 * task with `concurrency.key` that carries no `Qw-Concurrency-Key`), with the
 * same entry as the pool's Web Workers (pool/worker_entry.ts answers `key`
 * requests); one request per such job.
 *
 * @module
 */

import { type HostMessage, RING_SIZE, type TaskDefaults, type WorkerMessage } from "../pool/protocol.ts";

const TIMEOUT_MS = 5_000;
const CLOSING = "the worker is closing";
/** The job is not at fault: it goes back to the stream. */
const closingError = () => Object.assign(new Error(`Cannot compute a concurrency key as ${CLOSING}`), { closing: true });

/** What the key functions' Web Worker needs. */
export interface KeyFunctionsOptions {
  tasksUrl: string;
  defaults: TaskDefaults;
  createWorker(name: string): Worker;
}

interface Waiting {
  resolve(key: string): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Computes concurrency keys in a Web Worker, spawned on first use and again after it died. */
export class KeyFunctions {
  #o: KeyFunctionsOptions;
  #worker: Worker | null = null;
  #ready: Promise<void> | null = null;
  #waiting = new Map<number, Waiting>();
  #k = 0;
  #closed = false;

  constructor(options: KeyFunctionsOptions) {
    this.#o = options;
  }

  /** The key `task`'s `concurrency.key` gives the job body `data`; rejects with a one-line Error. */
  async compute(task: string, data: Uint8Array): Promise<string> {
    if (this.#closed) throw closingError();
    await this.#start();
    const k = ++this.#k;
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(k, null, `no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
      this.#waiting.set(k, { resolve, reject, timer });
      this.#worker!.postMessage({ type: "key", k, task, data: data.slice() } satisfies HostMessage);
    });
  }

  /** Terminate the Web Worker; pending requests fail with an error whose `closing` is true. */
  close(): void {
    this.#closed = true;
    this.#lost(CLOSING);
  }

  #start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const worker = this.#o.createWorker("qw-keys");
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent) => {
        const msg = e.data as WorkerMessage;
        if (msg.type === "ready") resolve();
        else if (msg.type === "init_error") reject(new Error(msg.error.message));
        else if (msg.type === "key") this.#settle(msg.k, msg.key, msg.error ?? null);
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault?.();
        reject(new Error(`the key functions' Web Worker failed: ${e.message}`));
        this.#lost(`its Web Worker failed: ${e.message}`);
      };
    });
    this.#ready.catch(() => this.#lost("its Web Worker could not load the tasks file"));
    const ring = new SharedArrayBuffer(RING_SIZE * 4);
    worker.postMessage({ type: "init", tasksUrl: this.#o.tasksUrl, defaults: this.#o.defaults, ring } satisfies HostMessage);
    return this.#ready;
  }

  #settle(k: number, key: string | null, error: string | null): void {
    const w = this.#waiting.get(k);
    if (!w) return;
    this.#waiting.delete(k);
    clearTimeout(w.timer);
    if (key !== null) w.resolve(key);
    else w.reject(error === CLOSING ? closingError() : new Error(error ?? "no key"));
  }

  // The Web Worker is gone: every request fails, and the next one spawns another.
  #lost(why: string): void {
    for (const k of [...this.#waiting.keys()]) this.#settle(k, null, why);
    this.#worker?.terminate();
    this.#worker = null;
    this.#ready = null;
  }
}
