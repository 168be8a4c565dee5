/**
 * The names of the options a config file (or code) may use, and the shape of
 * a config written back as a config file. Private to config.ts. Pure.
 *
 * A config file's keys are the long flags in camelCase (`--nkey-file` is
 * `nkeyFile`, `--no-results` is `results`); the library's own names for the
 * same options (`nkeySeedFile`, `tlsCaFile`, ...) are accepted too.
 *
 * @module
 */

import { quoteName, show } from "./_config_reader.ts";
import type { OptionKey, QwOptions } from "./options.ts";
import { nearestName } from "../task/task_options.ts";

/** The flag name in camelCase of every option whose library name differs from it. */
export const FLAG_NAMES: Readonly<Partial<Record<OptionKey, string>>> = Object.freeze({
  nkeySeedFile: "nkeyFile",
  tlsCaFile: "tlsCa",
  tlsCertFile: "tlsCert",
  tlsKeyFile: "tlsKey",
});

/** Other names accepted for an option: its flag name, and `servers` as `--print-config` once printed it. */
const ALIASES: Readonly<Record<string, OptionKey>> = Object.freeze({
  ...Object.fromEntries(Object.entries(FLAG_NAMES).map(([key, flag]) => [flag, key as OptionKey])),
  servers: "server",
});

/** The name a config file should use for an option. */
export function fileKey(key: OptionKey): string {
  return FLAG_NAMES[key] ?? key;
}

/**
 * The values with every alias replaced by its option's own name. Throws a
 * one-line `TypeError` for an unknown key, listing the valid ones, and for an
 * option given under two names.
 */
export function canonicalOptions(
  values: Readonly<Record<string, unknown>>,
  keys: readonly OptionKey[],
  context: { attempt: string; where: string },
): QwOptions {
  const out: Record<string, unknown> = {};
  const givenAs = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const key = (keys as readonly string[]).includes(name) ? name : Object.hasOwn(ALIASES, name) ? ALIASES[name] : null;
    if (key === null) {
      const valid = keys.map((k) => `'${fileKey(k)}'`).join(", ");
      const near = nearestName(name, [...keys.map(fileKey), ...Object.keys(ALIASES)]);
      const hint = near === null ? "" : ` (did you mean '${near}'?)`;
      throw new TypeError(
        `Cannot ${context.attempt} as ${context.where} key ${quoteName(name)} must be one of ${valid}${hint}: current value is ${show(value)}`,
      );
    }
    const earlier = givenAs.get(key);
    if (earlier !== undefined) {
      throw new TypeError(
        `Cannot ${context.attempt} as ${context.where} keys '${earlier}' and '${name}' must not both be set: current value is ${show(value)}`,
      );
    }
    givenAs.set(key, name);
    out[key] = value;
  }
  return out as QwOptions;
}
