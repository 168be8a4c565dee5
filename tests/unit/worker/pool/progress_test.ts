// Progress reports inside a Web Worker: checked, plain data, at most one per 250 ms, the latest wins.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PROGRESS_EVERY_MS, progressReporter } from "../../../../src/worker/pool/_progress.ts";
import { sleep } from "../../../helpers/wait.ts";

describe("progressReporter()", () => {
  it("sends the first report at once and the latest of the next ones 250 ms after it", async () => {
    const sent: [number, unknown][] = [];
    let now = 1000;
    const p = progressReporter((f, m) => sent.push([f, m]), () => now);
    p.report(0.1, { step: 1 });
    assert.deepEqual(sent, [[0.1, { step: 1 }]]);
    now += 10;
    p.report(0.2);
    p.report(0.3, "three");
    assert.equal(sent.length, 1, "throttled");
    now += PROGRESS_EVERY_MS;
    await sleep(PROGRESS_EVERY_MS + 50);
    assert.deepEqual(sent, [[0.1, { step: 1 }], [0.3, "three"]]);
    p.end();
  });

  it("drops what was not sent when the job ends", async () => {
    const sent: number[] = [];
    const p = progressReporter((f) => sent.push(f));
    p.report(0.5);
    p.report(0.9);
    p.end();
    await sleep(PROGRESS_EVERY_MS + 50);
    assert.deepEqual(sent, [0.5]);
  });

  it("rejects a fraction outside [0, 1] and meta that is not JSON", () => {
    const p = progressReporter(() => {});
    for (const bad of [-0.1, 1.5, Number.NaN, "0.5" as unknown as number]) {
      assert.throws(() => p.report(bad), RangeError);
    }
    assert.throws(() => p.report(0.5, { n: 1n }), { name: "TypeError", message: /^Cannot report progress as 'meta' must be JSON-serializable/ });
    p.end();
  });
});
