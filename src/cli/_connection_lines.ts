/**
 * Which connection events become log lines: one line per state change (lost,
 * back after N s), nothing in between. While the connection is down, the
 * client reports every reconnect attempt and every pull that misses its
 * heartbeats; those say nothing new. Up, missed heartbeats are logged at most
 * once a minute. A server that shuts down first fails the open pulls with
 * "server shutdown": that starts the outage. Pure: the caller passes the
 * clock. Private to log.ts.
 *
 * @module
 */

import type { LogLevel } from "@logtape/logtape";
import type { QwEvent } from "../core/events.ts";

/** What the decision remembers between events. */
export interface ConnectionLogState {
  /** When the connection was lost (ms), or null while it is up. */
  downSince: number | null;
  /** When missed heartbeats were last logged (ms). */
  lastPullRetry: number;
}

/** The state before the first event: connected. */
export const CONNECTED: ConnectionLogState = Object.freeze({ downSince: null, lastPullRetry: -Infinity });

/** Missed heartbeats while connected are logged at most this often. */
export const PULL_RETRY_LOG_INTERVAL_MS = 60_000;


/** The next state, and the line to log. */
export interface ConnectionLine {
  state: ConnectionLogState;
  /** The level of the line, or "debug" when it says nothing new. */
  level: LogLevel;
  message: string;
}

/** Decides the level and text of a connection event; null for the events it does not govern. */
export function connectionLine(state: ConnectionLogState, e: QwEvent, now: number): ConnectionLine | null {
  if (e.type === "error" && /server shutdown/i.test(e.error)) {
    const message = `${e.where}: ${e.error}`;
    if (state.downSince !== null) return { state, level: "debug", message };
    return { state: { ...state, downSince: now }, level: "warning", message: `the NATS server is shutting down (${message}); reconnecting until it is back` };
  }
  if (e.type !== "connection.status") return null;
  const detail = e.detail ? `: ${e.detail}` : "";
  switch (e.status) {
    case "disconnect":
      if (state.downSince !== null) return { state, level: "debug", message: `connection disconnect${detail}` };
      return {
        state: { ...state, downSince: now },
        level: "warning",
        message: `disconnected from NATS${e.detail ? ` at '${e.detail}'` : ""}; reconnecting until it is back`,
      };
    case "reconnect": {
      if (state.downSince === null) return { state, level: "info", message: `reconnected to NATS${detail}` };
      const seconds = ((now - state.downSince) / 1000).toFixed(1);
      return {
        state: { ...state, downSince: null },
        level: "info",
        message: `reconnected to NATS${e.detail ? ` at '${e.detail}'` : ""} after ${seconds} s`,
      };
    }
    case "reconnecting":
      return { state, level: "debug", message: `connection reconnecting${detail}` };
    case "pull_retry":
    case "error":
      if (state.downSince !== null) return { state, level: "debug", message: `connection ${e.status}${detail}` };
      if (e.status === "error") return { state, level: "warning", message: `connection error${detail}` };
      if (now - state.lastPullRetry < PULL_RETRY_LOG_INTERVAL_MS) {
        return { state, level: "debug", message: `connection pull_retry${detail}` };
      }
      return {
        state: { ...state, lastPullRetry: now },
        level: "warning",
        message: `a pull ended early${detail}; retrying (logged at most once a minute)`,
      };
    default:
      return { state, level: "info", message: `connection ${e.status}${detail}` };
  }
}
