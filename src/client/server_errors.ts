/**
 * What a JetStream API error means, by its `err_code` (the server's stable
 * code), not by its text: descriptions are free text and other errors say
 * "not found" too. Pure.
 *
 * @module
 */

import { JetStreamApiError } from "@nats-io/jetstream";

/** The JetStream API codes qw tells apart. */
export const ApiCode = {
  ConsumerNotFound: 10014,
  NoMessageFound: 10037,
  StreamNameInUse: 10058,
  StreamNotFound: 10059,
  /** A schedule (`Nats-Schedule`) published to a stream without `allow_msg_schedules`. */
  MessageSchedulesDisabled: 10188,
} as const;

/** The JetStream API code of an error, or null when it is not a JetStream API error. */
export function apiCode(e: unknown): number | null {
  if (e instanceof JetStreamApiError) return e.code;
  // A copy of the class from another bundle: classify by name, as across the Worker boundary.
  const x = e as { name?: unknown; code?: unknown } | null;
  if (x !== null && typeof x === "object" && typeof x.name === "string" && /^(JetStreamApi|StreamNotFound|ConsumerNotFound)Error$/.test(x.name) && typeof x.code === "number") return x.code;
  return null;
}

/** The stream does not exist. */
export const isStreamNotFound = (e: unknown): boolean => apiCode(e) === ApiCode.StreamNotFound;
/** The consumer does not exist. */
export const isConsumerNotFound = (e: unknown): boolean => apiCode(e) === ApiCode.ConsumerNotFound;
/** No message at that sequence (or for that subject). */
export const isNoMessage = (e: unknown): boolean => apiCode(e) === ApiCode.NoMessageFound;
/** The stream, the consumer or the message does not exist. */
export const isNotFound = (e: unknown): boolean => isStreamNotFound(e) || isConsumerNotFound(e) || isNoMessage(e);
/** The stream does not take schedules (its `allow_msg_schedules` is off). */
export const isSchedulesDisabled = (e: unknown): boolean => apiCode(e) === ApiCode.MessageSchedulesDisabled;
