/**
 * The seed of each draw of a fault soup case. Every part of a case (its jobs,
 * the long synchronous jobs and ack wait, the faults, the priorities, the
 * pauses, the keyed jobs) is drawn by fast-check from a seed of its own,
 * derived from the case's seed here. Pure; no fast-check.
 *
 * @module
 */

/** The salt of each draw: a draw's seed is the case's seed mixed with it. */
export const DRAW = {
  case: 0xca5e,
  later: 0x5eed,
  faults: 0xfa17,
  priorities: 0x9e10,
  pauses: 0x9a5e,
  keys: 0x4e75,
} as const;

/**
 * The seed of one draw: `seed` xored with the draw's salt, then mixed (a
 * 32-bit integer hash), so every bit of the result depends on every bit of
 * the seed. fast-check's first choice follows its seed's lowest bit: draws
 * seeded with `seed ^ salt` alone would choose alike for every seed of one
 * parity (all of them restarting, pausing and spreading priorities on the
 * same seeds, with the same ack wait).
 */
export function drawSeed(seed: number, salt: number): number {
  const x = seed ^ salt;
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) | 0;
}
