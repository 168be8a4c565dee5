// The dashboard in a real browser: Debian's chromium driven by playwright-core
// against nats-server, a dist/qw worker and `dist/qw dashboard`. It sees a
// task's row, counts that change within 2 s of an enqueue, replays a dead
// letter, looks a running job up and revokes it, pauses and resumes with the
// token the tab keeps, and saves a screenshot to .tmp/dashboard.png. Skipped, with how to install it, when chromium is missing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { type Client, connectClient } from "../../src/client/client.ts";
import { ROOT, spawnQw } from "../helpers/cli.ts";
import { startWorkerAndDashboard } from "../helpers/dashboard.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const CHROMIUM = [process.env.QW_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && existsSync(p));
const SKIP = CHROMIUM === undefined
  ? "chromium not found: install it with 'apt-get install -y chromium' (make install does), or set QW_CHROMIUM"
  : false;
// Bun's runner does not print a skip's reason: say it here.
if (SKIP) console.error(`dashboard_browser_test.ts: skipped: ${SKIP}`);
const SHOT = resolve(ROOT, ".tmp/dashboard.png");

// What the functions run in the page touch (this file is checked without the DOM lib).
interface PageElement {
  textContent: string | null;
  innerHTML: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null; getElementById(id: string): PageElement | null };

describe("dashboard in a browser", { skip: SKIP }, () => {
  const t = useServer("dashboard-browser");

  it("shows a task's row, counts within 2 s, replays a dead letter, looks a job up and revokes it", { timeout: 90_000 }, async () => {
    const { chromium } = await import("playwright-core");
    const stream = "jobs";
    const { worker, dash, url } = await startWorkerAndDashboard(t.srv.url, stream);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url);
      assert.match(await page.textContent("header h1") ?? "", /stream jobs/);

      // Schedules as the worker stores them (every in seconds, or cron with a zone).
      const schedules = await new Kvm(t.nc).create(`qw_${stream}_schedules`);
      const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
      await schedules.put("add.0", JSON.stringify({ task: "add", index: 0, every: 60, cron: null, tz: "UTC", args: [1, 2], catchUp: "latest", lastTick: tick }));
      await schedules.put("steps.0", JSON.stringify({ task: "steps", index: 0, every: null, cron: "0 3 * * *", tz: "Europe/Paris", args: [5], catchUp: "none", lastTick: null }));
      await page.waitForFunction(() => document.querySelector("#schedules")?.textContent?.includes("every 60 s"), undefined, { timeout: 5000 });
      assert.match(await page.textContent("#schedules") ?? "", /cron 0 3 \* \* \* \(Europe\/Paris\)/);

      // A task's row.
      await client.enqueue("add", [2, 3]);
      await page.waitForSelector('#tasks tr[data-task="add"]', { timeout: 5000 });

      // Counts change within 2 s: slow jobs wait behind each other.
      const started = Date.now();
      for (let i = 0; i < 6; i++) await client.enqueue("work", [700]);
      await page.waitForFunction(() => {
        const row = document.querySelector('#tasks tr[data-task="work"]');
        const n = (c: string) => Number(row?.querySelector("td." + c)?.textContent?.replace(/,/g, "") ?? 0);
        return n("waiting") + n("running") + n("succeeded") > 0;
      }, undefined, { timeout: 2000 });
      assert.ok(Date.now() - started <= 2500, `counts changed after ${Date.now() - started} ms`);

      // A burst for the chart, a failure and a job with progress for the screenshot.
      for (let s = 0; s < 4; s++) {
        await Promise.all(Array.from({ length: 40 + 25 * s }, (_, i) => client.enqueue("add", [s, i])));
        await sleep(500);
      }
      const failed = await client.enqueue("fail", ["the input is not a number"]);
      await client.enqueue("steps", [40]);

      // A dead letter, replayed from the page: it is rejected again and comes back with a new sequence.
      const dropped = await client.enqueue("drop", ["malformed address"]);
      const row = await page.waitForSelector("#dlq tr[data-seq]", { timeout: 5000 });
      const seq = await row.getAttribute("data-seq");
      await page.click(`button[data-replay="${seq}"]`);
      await page.waitForFunction((id) => document.getElementById("dlq-msg")?.textContent?.includes(`as job ${id}`), dropped, { timeout: 5000 });
      await page.waitForFunction((old) => {
        const r = document.querySelector("#dlq tr[data-seq]");
        return r !== null && r.getAttribute("data-seq") !== old;
      }, seq, { timeout: 5000 });
      await client.enqueue("drop", ["unknown customer"]);

      // Look a running job up and revoke it, terminating its Web Worker.
      const long = await client.enqueue("work", [60_000]);
      await page.waitForFunction((id) => document.querySelector("#workers")?.innerHTML.includes(id.slice(0, 8)), long, { timeout: 10_000 });
      await page.fill("#job-id", long);
      await page.click("#lookup button");
      await page.waitForSelector("#job-state");
      assert.match(await page.textContent("#job") ?? "", /Running now on /);
      await page.check("#terminate");
      await page.click("#revoke");
      await page.waitForFunction(() => document.getElementById("job-state")?.textContent === "REVOKED", undefined, { timeout: 5000 });
      assert.equal((await client.get(long)).state, "REVOKED");
      assert.ok(await page.isDisabled("#revoke"), "a job that ended cannot be revoked again");

      // The failed job with its stack, then the screenshot once the workers' records caught up.
      await page.fill("#job-id", failed);
      await page.click("#lookup button");
      await page.waitForFunction(() => document.querySelector("#job pre.error")?.textContent?.includes("TypeError: cannot process"));
      await page.waitForFunction(() => document.querySelector('[data-total="succeeded"] .n')?.textContent !== "0", undefined, { timeout: 8000 });
      mkdirSync(resolve(ROOT, ".tmp"), { recursive: true });
      await page.screenshot({ path: SHOT, fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await client.close();
      assert.equal(await qwStop(dash), 0, dash.output());
      assert.equal(await qwStop(worker), 0);
    }
  });

  it("with a token: the page says it needs one, takes it once from ?token= and keeps it for the tab; Pause and Resume use it", { timeout: 60_000 }, async () => {
    const { chromium } = await import("playwright-core");
    await (await jetstreamManager(t.nc)).streams.add({ name: "tok", subjects: ["tok.>"] });
    const dash = spawnQw(["dashboard", "--stream", "tok", "--server", t.srv.url, "--http", "127.0.0.1:0", "--http-token", "s3cret"]);
    const url = await waitFor(() => /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(dash.output())?.[1], { timeoutMs: 15_000, message: dash.output() });
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("A token is required"));
      await page.goto(url + "?token=s3cret");
      await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("live"));
      assert.equal(page.url(), url, "the token leaves the address bar");
      await page.reload();
      await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("live"));

      // Pause and resume with the page's buttons: POSTs that carry the token the tab keeps.
      await page.click("#pause-stream-button");
      await page.waitForFunction(() => document.querySelector("#pause-stream")?.getAttribute("data-paused") === "1", undefined, { timeout: 5000 });
      assert.match(await page.textContent("#pause-stream") ?? "", /Stream paused until resumed by dashboard/);
      await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("paused"), undefined, { timeout: 5000 });
      await page.fill("#pause-task", "add");
      await page.click("#pause-task-form button");
      await page.waitForSelector('[data-paused-task="add"]', { timeout: 5000 });
      await page.click('[data-paused-task="add"] button');
      await page.click("#resume-stream");
      await page.waitForFunction(() => document.querySelector("#pause-stream")?.getAttribute("data-paused") === "0", undefined, { timeout: 5000 });
      await page.waitForFunction(() => document.querySelector('[data-paused-task="add"]') === null, undefined, { timeout: 5000 });
    } finally {
      await browser.close();
      assert.equal(await qwStop(dash), 0, dash.output());
    }
  });
});
