/**
 * The dashboard page: one HTML document, its style sheet and script, and
 * uPlot, all served from memory (embedded in dist/qw; no CDN, works offline).
 * The script polls `/api/overview` once a second; see _page_script.ts.
 *
 * @module
 */

import { PAGE_CSS } from "./_page_style.ts";
import { PAGE_JS } from "./_page_script.ts";
import { PAUSE_JS } from "./_page_pause.ts";
import { UPLOT_CSS, UPLOT_JS } from "./_vendor.ts";
import { JOBS_CSS, JOBS_JS } from "./lists/_page_jobs.ts";

/** A static file the dashboard serves. */
export interface Asset {
  type: string;
  body: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The HTML of the page for `stream`. Pure. */
export function pageHtml(stream: string): string {
  const s = escapeHtml(stream);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qw · ${s}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/page.css">
<link rel="stylesheet" href="/assets/jobs.css">
</head>
<body data-stream="${s}">
<header><h1>qw dashboard · stream <span class="stream">${s}</span></h1><span id="status">connecting…</span></header>
<main>
  <section class="tiles" id="tiles"></section>
  <section class="card wide"><h2>Jobs per second <span class="hint">jobs that ended, per 10 s over the last 10 minutes, from the stats every worker keeps on the server</span></h2><div id="chart"></div></section>
  <section class="card"><h2>Tasks</h2><div id="priorities"></div><div class="scroll" id="tasks"></div></section>
  <section class="card"><h2>Workers online</h2><div class="scroll" id="workers"></div></section>
  <section class="card wide"><h2>Jobs <span class="hint">the latest 100 of each list</span></h2>
    <div id="jobs-tabs"></div>
    <form class="lookup" id="jobs-filter"><input type="text" id="jobs-task" placeholder="task" autocomplete="off"><input type="text" id="jobs-prefix" placeholder="id prefix" autocomplete="off"><button type="submit">Filter</button></form>
    <div class="msg" id="jobs-msg"></div><div class="scroll" id="jobs-list"></div><div id="jobpage"></div>
  </section>
  <section class="card"><h2>Look up a job</h2>
    <form class="lookup" id="lookup"><input type="text" id="job-id" placeholder="task id" autocomplete="off"><button type="submit">Look up</button></form>
    <div id="job"></div>
  </section>
  <section class="card"><h2>Pause <span class="hint">no new job starts; running jobs finish</span></h2><div id="pause"></div><div class="msg" id="pause-msg"></div></section>
  <section class="card"><h2>Schedules</h2><div class="scroll" id="schedules"></div></section>
  <section class="card wide"><h2>Dead letters <span class="hint" id="dlq-count"></span><span class="right"><button class="danger" id="purge">Purge all</button></span></h2>
    <div class="msg" id="dlq-msg"></div><div class="scroll" id="dlq"></div><div id="dlq-show"></div>
  </section>
  <details class="legend" open><summary>What the numbers mean</summary><ul>
    <li><b>waiting</b>: jobs stored on the stream and not running: not yet delivered, held by a worker, or counting down to a retry. <b>delayed</b>: a countdown or eta not due yet.</li>
    <li><b>in flight</b>: delivered to a worker and not acked (by default a job is acked when it starts).</li>
    <li><b>running</b>: over the workers online now (their records refresh every 5 s). <b>succeeded, failed, retried, expired, revoked</b>: since the stream's first job, kept on the server across restarts (each worker rewrites its counts every 5 s). <b>failed</b> does not include dead-lettered jobs.</li>
    <li><b>dead-lettered</b>: kept in the dead-letter stream until replayed or purged.</li>
    <li><b>succeeded/s</b>, <b>failed/s</b>: jobs that ended so per second, per 10 s (failed: failed, dead-lettered, expired or revoked).</li>
  </ul></details>
</main>
<script src="/assets/uplot.js"></script>
<script src="/assets/page.js"></script>
<script src="/assets/pause.js"></script>
<script src="/assets/jobs.js"></script>
</body>
</html>
`;
}

/** The static files by path. */
export const ASSETS: Readonly<Record<string, Asset>> = {
  "/assets/uplot.js": { type: "text/javascript; charset=utf-8", body: UPLOT_JS },
  "/assets/uplot.css": { type: "text/css; charset=utf-8", body: UPLOT_CSS },
  "/assets/page.js": { type: "text/javascript; charset=utf-8", body: PAGE_JS },
  "/assets/page.css": { type: "text/css; charset=utf-8", body: PAGE_CSS },
  "/assets/pause.js": { type: "text/javascript; charset=utf-8", body: PAUSE_JS },
  "/assets/jobs.js": { type: "text/javascript; charset=utf-8", body: JOBS_JS },
  "/assets/jobs.css": { type: "text/css; charset=utf-8", body: JOBS_CSS },
};
