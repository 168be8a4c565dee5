/**
 * The options qw takes, as given: from flags, code or a config file, before
 * validation (config.ts resolves them). Types only.
 *
 * @module
 */

type Num = number | string;
type Bool = boolean | string;

/** Configuration input from flags, code or a config file. Numbers and booleans may be strings. */
export interface QwOptions {
  // Connection. `server` may be comma-separated.
  server?: string | readonly string[];
  user?: string | null; password?: string | null; token?: string | null;
  nkeySeedFile?: string | null; credsFile?: string | null;
  tlsCaFile?: string | null; tlsCertFile?: string | null; tlsKeyFile?: string | null;
  connectTimeout?: Num;
  // Worker.
  stream?: string; tasks?: string; consumer?: string; concurrency?: Num;
  logLevel?: string; logFormat?: string;
  ackWait?: Num; grace?: Num; maxDeliveries?: Num; results?: Bool; resultTtl?: Num; events?: Bool;
  http?: string | null; name?: string; maxTasksPerChild?: Num | null;
  stallTimeout?: Num; spawnTimeout?: Num; schedules?: Bool;
  /** Base URL of an OTLP/HTTP receiver: traces go to `<url>/v1/traces`. */
  otlpEndpoint?: string | null;
  // Task defaults. `null` or "none" means unlimited for the nullable ones.
  acksLate?: Bool; rejectOnWorkerLost?: Bool; acksOnFailureOrTimeout?: Bool; confirmAck?: Bool;
  maxRetries?: Num | null; defaultRetryDelay?: Num;
  retryBackoff?: Bool | number; retryBackoffMax?: Num; retryJitter?: Bool;
  timeLimit?: Num | null; softTimeLimit?: Num | null; rateLimit?: Num | null; trackStarted?: Bool; ignoreResult?: Bool;
  // The flags' names for options the library names otherwise; give one name or the other.
  /** Same as `nkeySeedFile` (`--nkey-file`). */
  nkeyFile?: string | null;
  /** Same as `tlsCaFile` (`--tls-ca`). */
  tlsCa?: string | null;
  /** Same as `tlsCertFile` (`--tls-cert`). */
  tlsCert?: string | null;
  /** Same as `tlsKeyFile` (`--tls-key`). */
  tlsKey?: string | null;
}

/** The name of an option; the flag-named aliases (`nkeyFile`, `tlsCa`, ...) are folded into these. */
export type OptionKey = Exclude<keyof QwOptions, "nkeyFile" | "tlsCa" | "tlsCert" | "tlsKey">;
