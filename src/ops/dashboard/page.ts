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
</head>
<body data-stream="${s}">
<header><h1>qw dashboard · stream <span class="stream">${s}</span></h1><span id="status">connecting…</span></header>
<main>
  <section class="tiles" id="tiles"></section>
  <section class="card wide"><h2>Jobs per second <span class="hint">last 10 minutes, from the work stream's sequence numbers</span></h2><div id="chart"></div></section>
  <section class="card"><h2>Tasks</h2><div id="priorities"></div><div class="scroll" id="tasks"></div></section>
  <section class="card"><h2>Workers online</h2><div class="scroll" id="workers"></div></section>
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
    <li><b>running, succeeded, failed, retried</b>: summed over the workers online now, since each started (their records refresh every 5 s; a stopped worker's counts leave with it). <b>failed</b> includes rejected jobs, which are dead-lettered too.</li>
    <li><b>dead-lettered</b>: kept in the dead-letter stream until replayed or purged.</li>
    <li><b>enqueued/s</b>: messages stored per second (new jobs, retries, released delays, replays); <b>acked/s</b>: messages that left the stream per second.</li>
  </ul></details>
</main>
<script src="/assets/uplot.js"></script>
<script src="/assets/page.js"></script>
<script src="/assets/pause.js"></script>
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
};
