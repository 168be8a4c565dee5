// The dashboard's job lists in a real browser (Debian's chromium driven by
// playwright-core, as dashboard_browser_test.ts): the failures of one task
// filtered from the others, one retried from the page, and the retried job
// then runs; its page shows both attempts. Saves .tmp/dashboard-jobs.png.
// Skipped, with how to install it, when chromium is missing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Client, connectClient } from "../../src/client/client.ts";
import { ROOT } from "../helpers/cli.ts";
import { startWorkerAndDashboard } from "../helpers/dashboard.ts";
import { qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const CHROMIUM = [process.env.QW_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && existsSync(p));
const SKIP = CHROMIUM === undefined
  ? "chromium not found: install it with 'apt-get install -y chromium' (make install does), or set QW_CHROMIUM"
  : false;
if (SKIP) console.error(`dashboard_jobs_browser_test.ts: skipped: ${SKIP}`);

interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getElementById(id: string): PageElement | null;
};

describe("dashboard job lists in a browser", { skip: SKIP }, () => {
  const t = useServer("dashboard-jobs");

  it("filters the failures of one task, retries one from the page, and the retried job runs", { timeout: 90_000 }, async () => {
    const { chromium } = await import("playwright-core");
    const stream = "jobs";
    const { worker, dash, url } = await startWorkerAndDashboard(t.srv.url, stream, ["--http-token", "s3cret"]);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    const errors: string[] = [];
    try {
      for (let i = 1; i <= 3; i++) await client.enqueue("firstFails", [i], { id: `order-${i}` });
      await client.enqueue("fail", ["the input is not a number"], { id: "order-other" });
      await client.enqueue("fail", ["elsewhere"], { id: "import-1" });
      for (let i = 0; i < 20; i++) await client.enqueue("add", [i, i]);
      await client.enqueue("add", [1, 1], { id: "later-1", countdown: 600 });
      for (const id of ["order-1", "order-2", "order-3", "order-other"]) await client.result(id, { timeout: 15 });

      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url + "?token=s3cret");
      await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("live"));

      // The failed list (the default tab) has every failure; the filter keeps one task's with an id prefix.
      await page.waitForSelector('#jobs-list tr[data-job="import-1"]', { timeout: 10_000 });
      await page.fill("#jobs-task", "firstFails");
      await page.fill("#jobs-prefix", "order-");
      await page.click("#jobs-filter button");
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll("#jobs-list tr[data-job]"));
        return rows.length === 3 && rows.every((r) => r.getAttribute("data-task") === "firstFails");
      }, undefined, { timeout: 10_000 });
      assert.match(await page.textContent("#jobs-list") ?? "", /RangeError: first run of \d fails/);

      // Retry one from the page: a POST that carries the tab's token; the job runs again and succeeds.
      await page.click('button[data-retry="order-2"]');
      await page.waitForFunction(() => document.getElementById("jobs-msg")?.textContent?.includes("Retried job order-2"), undefined, { timeout: 5000 });
      await waitFor(async () => (await client.get("order-2")).state === "SUCCESS", { timeoutMs: 15_000, intervalMs: 200 });
      assert.equal((await client.get("order-1")).state, "FAILURE", "only the one retried runs again");
      await page.waitForFunction(() => document.querySelectorAll("#jobs-list tr[data-job]").length === 2, undefined, { timeout: 10_000 });

      // Its page: both attempts, the first with its error and stack.
      await page.click('a[data-open="order-1"]');
      await page.waitForSelector("#jobpage-state");
      await page.goto(url + "#job=order-2");
      await page.waitForFunction(() => document.getElementById("jobpage-state")?.textContent === "SUCCESS", undefined, { timeout: 5000 });
      assert.equal(await page.locator("#attempts tr[data-attempt]").count(), 2);
      assert.match(await page.textContent('#attempts tr[data-attempt="1"]') ?? "", /FAILURE.*RangeError: first run of 2 fails/);

      // The other lists: delayed with its due time, waiting, and a one-line error for no such list.
      await page.fill("#jobs-task", "");
      await page.fill("#jobs-prefix", "");
      await page.click('button[data-tab="delayed"]');
      await page.waitForSelector('#jobs-list[data-list="delayed"] tr[data-job="later-1"]', { timeout: 10_000 });
      await page.click('button[data-tab="failed"]');
      await page.waitForSelector('#jobs-list[data-list="failed"] tr[data-job="import-1"]', { timeout: 10_000 });
      mkdirSync(resolve(ROOT, ".tmp"), { recursive: true });
      await page.goto(url + "#job=order-2");
      await page.waitForSelector("#attempts");
      await page.waitForSelector('#jobs-list tr[data-job="import-1"]', { timeout: 10_000 });
      // The counts come from the stats each worker rewrites every 5 s.
      await page.waitForFunction(() => document.querySelector('[data-total="succeeded"] .n')?.textContent === "21", undefined, { timeout: 10_000 });
      await page.screenshot({ path: resolve(ROOT, ".tmp/dashboard-jobs.png"), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await client.close();
      assert.equal(await qwStop(dash), 0, dash.output());
      assert.equal(await qwStop(worker), 0);
    }
  });
});
