// Reading what fixture tasks record (tests/fixtures/tasks/_record.ts): one JSON line per run.
import { readFileSync } from "node:fs";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

/** The runs a record file holds so far; none while the file does not exist yet. */
export function runsIn(file: string): RunRecord[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as RunRecord);
  } catch {
    return [];
  }
}
