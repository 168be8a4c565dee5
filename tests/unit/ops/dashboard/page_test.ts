/** The page and its assets: embedded, offline, and the stream name escaped. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { ASSETS, pageHtml } from "../../../../src/ops/dashboard/page.ts";

describe("dashboard page", () => {
  test("names its stream, escaped, and loads only its own assets", () => {
    const html = pageHtml("jobs<b>");
    assert.match(html, /stream <span class="stream">jobs&lt;b&gt;<\/span>/);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((r) => r !== "data:,");
    assert.deepEqual(refs.sort(), ["/assets/jobs.css", "/assets/jobs.js", "/assets/page.css", "/assets/page.js", "/assets/pause.js", "/assets/uplot.css", "/assets/uplot.js"]);
    for (const r of refs) assert.ok(ASSETS[r]?.body.length > 0, r);
    assert.doesNotMatch(Object.values(ASSETS).map((a) => a.body).join("\n"), /https?:\/\/(?!github\.com\/leeoniya)[a-z]/i);
  });

  test("the script parses as JavaScript and polls at most once a second", () => {
    const js = ASSETS["/assets/page.js"].body;
    assert.doesNotThrow(() => new Function(js));
    assert.match(js, /setTimeout\(poll, 1000\)/);
    assert.match(ASSETS["/assets/uplot.js"].body, /uPlot/);
    assert.doesNotThrow(() => new Function(ASSETS["/assets/pause.js"].body));
    assert.doesNotThrow(() => new Function(ASSETS["/assets/jobs.js"].body), "the jobs script parses");
  });
});

const UPLOT = new URL("../../../../node_modules/uplot/package.json", import.meta.url);

describe("embedded uPlot", () => {
  const skip = existsSync(UPLOT) ? false : "node_modules/uplot is not installed: run 'make install'";
  test("src/ops/dashboard/_vendor.ts is what scripts/build_dashboard_assets.ts makes of node_modules/uplot", { skip }, async () => {
    const { vendorModule } = await import("../../../../scripts/build_dashboard_assets.ts");
    const file = new URL("../../../../src/ops/dashboard/_vendor.ts", import.meta.url);
    assert.equal(readFileSync(file, "utf8"), vendorModule(), "stale: run 'bun scripts/build_dashboard_assets.ts'");
  });
});
