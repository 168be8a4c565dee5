// The network-fault scenarios as data (scripts/net/scenarios.ts): every
// scenario carries the full load, --short picks existing ones and scales them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { plan, SCENARIOS, scaled, SHORT } from "../../scripts/net/scenarios.ts";

describe("SCENARIOS", () => {
  it("has unique names, and flows in every scenario's load", () => {
    assert.equal(new Set(SCENARIOS.map((s) => s.name)).size, SCENARIOS.length);
    for (const s of SCENARIOS) assert.ok(s.flows > 0 && s.jobs > 0 && s.results, s.name);
  });

  it("names only existing scenarios for --short", () => {
    for (const n of SHORT.names) assert.ok(SCENARIOS.some((s) => s.name === n), n);
  });
});

describe("scaled()", () => {
  it("keeps the scenario at scale 1 and shrinks its jobs and flows otherwise, never below a few", () => {
    const s = SCENARIOS[0];
    assert.equal(scaled(s, 1), s);
    const small = scaled(s, 0.2);
    assert.equal(small.jobs, Math.round(s.jobs * 0.2));
    assert.equal(small.flows, Math.round(s.flows * 0.2));
    assert.equal(small.fault, s.fault);
    assert.equal(scaled(s, 0.001).jobs, 100);
    assert.equal(scaled(s, 0.001).flows, 4);
  });
});

describe("plan()", () => {
  it("replays a seed, and gives the full stream no timed fault", () => {
    const s = SCENARIOS[0];
    assert.deepEqual(plan(s, 7), plan(s, 7));
    const full = SCENARIOS.find((x) => x.fault.kind === "stream-full")!;
    assert.equal(plan(full, 1).durationMs, 0);
  });
});
