/**
 * Connecting to NATS: auth and TLS options, a bounded retry of the first
 * connection with a message per attempt, and connection status as events.
 * Knows nothing about tasks.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { credsAuthenticator, nkeyAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import type { QwEvent } from "../core/events.ts";
import { versionAtLeast } from "../core/server_features.ts";

/** How to reach NATS. Secrets are never put in events. */
export interface ConnectionConfig {
  servers: string[];
  user: string | null;
  password: string | null;
  token: string | null;
  nkeySeedFile: string | null;
  credsFile: string | null;
  tlsCaFile: string | null;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  /** Seconds to keep retrying the first connection. */
  connectTimeout: number;
}

/** Options for {@linkcode openConnection}. */
export interface OpenOptions {
  name?: string;
  emit?: (e: QwEvent) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

// A client certificate the server's CA did not sign: "bad certificate" from
// servers built with Go before 1.21 (2.9.10), "unknown CA" after (2.15.3).
const AUTH_FAILURES =
  /authorization|authentication|permissions|user.*(expired|revoked)|bad[ _]?certificate|unknown[ _]?ca\b|certificate[ _](required|unknown)/i;

/** Whether a connect error is the server refusing the credentials, which no retry can change. Pure. */
export const refusedCredentials = (message: string): boolean => AUTH_FAILURES.test(message);

/** Connect, retrying for `connectTimeout` seconds; auth errors fail at once. */
export async function openConnection(cfg: ConnectionConfig, options: OpenOptions = {}): Promise<NatsConnection> {
  const emit = options.emit ?? (() => {});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const opts = connectOptions(cfg, options.name);
  const deadline = Date.now() + cfg.connectTimeout * 1000;
  for (let attempt = 1;; attempt++) {
    try {
      const nc = await connect(opts);
      void watchStatus(nc, emit);
      return nc;
    } catch (e) {
      const message = errorText(e);
      if (refusedCredentials(message)) {
        throw new Error(`Cannot connect to NATS at '${cfg.servers.join(",")}' as the server refused the credentials: ${message}`);
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `Cannot connect to NATS at '${cfg.servers.join(",")}' after ${attempt} attempts in ${cfg.connectTimeout}s: ${message}`,
        );
      }
      emit({ type: "connection.retry", attempt, error: message, server: cfg.servers.join(","), timeoutSeconds: cfg.connectTimeout });
      await sleep(Math.min(2000, 250 * attempt, Math.max(0, deadline - Date.now())));
    }
  }
}

function connectOptions(cfg: ConnectionConfig, name?: string) {
  const o: Record<string, unknown> = {
    servers: cfg.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    timeout: 5_000,
  };
  if (cfg.user !== null) {
    o.user = cfg.user;
    o.pass = cfg.password ?? "";
  }
  if (cfg.token !== null) o.token = cfg.token;
  if (cfg.credsFile !== null) o.authenticator = credsAuthenticator(readSecretFile(cfg.credsFile, "credentials"));
  if (cfg.nkeySeedFile !== null) {
    const seed = new TextDecoder().decode(readSecretFile(cfg.nkeySeedFile, "NKey seed")).trim();
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (cfg.tlsCaFile !== null || cfg.tlsCertFile !== null) {
    const tls: Record<string, string> = {};
    if (cfg.tlsCaFile !== null) tls.caFile = cfg.tlsCaFile;
    if (cfg.tlsCertFile !== null) tls.certFile = cfg.tlsCertFile;
    if (cfg.tlsKeyFile !== null) tls.keyFile = cfg.tlsKeyFile;
    // With TLS 1.3 a server rejects a client certificate after the handshake,
    // when the transport no longer listens for errors: the client then hangs
    // (Bun) or crashes (Deno). TLS 1.2 rejects it in the handshake, clearly.
    if (cfg.tlsCertFile !== null) tls.maxVersion = "TLSv1.2";
    o.tls = tls;
  }
  return o;
}

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read the ${what} file '${path}': ${errorText(e)}`);
  }
}

async function watchStatus(nc: NatsConnection, emit: (e: QwEvent) => void): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === "ping" || s.type === "update") continue;
    const detail = "server" in s ? String(s.server) : "error" in s ? errorText(s.error) : undefined;
    emit({ type: "connection.status", status: s.type, detail });
  }
}

/** One line of an error, whatever was thrown. */
export function errorText(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split("\n")[0];
}

/** True when a server version string ("2.9.10") is at least major.minor. Pure. */
export function serverAtLeast(version: string | undefined, major: number, minor: number): boolean {
  return versionAtLeast(version, major, minor);
}
