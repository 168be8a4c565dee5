/**
 * The dashboard's Jobs card, plain browser JavaScript like _page_script.ts
 * (no backticks; every element built with textContent): a tab per list
 * (running, failed, waiting per priority, delayed, revoked, expired), a
 * filter by task and id prefix, a Retry button on each failure (POST with
 * the tab's token), and a job's page with every attempt and a flow's steps.
 * The open list is read again every 2 s.
 */
export const JOBS_JS = String.raw`
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var STATES = ["running", "failed", "waiting", "delayed", "revoked", "expired"];
  var current = "failed";
  function el(tag, text, attrs, kids) {
    var e = document.createElement(tag);
    if (text !== null && text !== undefined) e.textContent = String(text);
    for (var k in attrs || {}) {
      if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function call(method, path) {
    var headers = { "content-type": "application/json" };
    var token = sessionStorage.getItem("qw-token");
    if (token) headers.authorization = "Bearer " + token;
    return fetch(path, { method: method, headers: headers }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || r.status + " " + r.statusText);
        return j;
      });
    });
  }
  function when(ms) { return ms ? new Date(ms).toLocaleTimeString() : "-"; }
  function errLine(e) { return e ? (e.name + ": " + e.message).split("\n")[0] : ""; }
  function say(text, ok) { var m = $("jobs-msg"); m.textContent = text; m.className = "msg " + (ok ? "ok" : "err"); }
  function idLink(id) { return el("a", id, { href: "#job=" + encodeURIComponent(id), class: "mono", "data-open": id }); }

  var COLS = {
    running: [["id", function (j) { return idLink(j.id); }], ["task", "task"], ["worker", "worker"], ["started", function (j) { return when(j.startedAt); }],
      ["progress", function (j) { return j.progress === undefined ? "-" : Math.round(j.progress * 100) + "%"; }]],
    failed: [["id", function (j) { return idLink(j.id); }], ["task", "task"], ["ended", function (j) { return when(j.finishedAt); }], ["retries", "retries"],
      ["error", function (j) { return errLine(j.error) || j.reason || "-"; }],
      ["", function (j) { return j.retryable ? el("button", "Retry", { "data-retry": j.id, onclick: function () { retry(j.id); } }) : el("span", j.reason ? "see dead letters" : "-", { title: j.reason ? "dead-lettered: replay it from the dead letters" : "its message was not kept" }); }]],
    waiting: [["seq", "seq"], ["id", function (j) { return idLink(j.id); }], ["task", "task"], ["args", function (j) { return JSON.stringify(j.args); }]],
    delayed: [["id", function (j) { return idLink(j.id); }], ["task", "task"], ["due", function (j) { return j.dueAt ? new Date(j.dueAt).toLocaleString() : "when resumed"; }],
      ["args", function (j) { return JSON.stringify(j.args); }]],
    revoked: [["id", function (j) { return idLink(j.id); }], ["task", "task"], ["when", function (j) { return when(j.finishedAt); }], ["reason", "reason"]],
  };
  COLS.expired = COLS.revoked;
  function table(state, jobs) {
    if (jobs.length === 0) return el("div", "none", { class: "none" });
    var cols = COLS[state];
    return el("table", null, {}, [
      el("thead", null, {}, [el("tr", null, {}, cols.map(function (c) { return el("th", c[0]); }))]),
      el("tbody", null, {}, jobs.map(function (j) {
        return el("tr", null, { "data-job": j.id, "data-task": j.task }, cols.map(function (c) {
          var v = typeof c[1] === "function" ? c[1](j) : j[c[1]];
          return v instanceof Node ? el("td", null, {}, [v]) : el("td", v === undefined || v === null ? "-" : v, { class: c[0] === "error" ? "wrap" : "" });
        }));
      })),
    ]);
  }
  function query() {
    var q = new URLSearchParams();
    if ($("jobs-task").value.trim()) q.set("task", $("jobs-task").value.trim());
    if ($("jobs-prefix").value.trim()) q.set("prefix", $("jobs-prefix").value.trim());
    return q.toString() ? "?" + q : "";
  }
  function load() {
    var state = current;
    return call("GET", "/api/jobs/" + state + query()).then(function (l) {
      if (state !== current) return;
      var box = $("jobs-list");
      box.textContent = "";
      box.setAttribute("data-list", state);
      var groups = l.groups ? Object.keys(l.groups) : []; // highest priority first
      if (state === "waiting" && groups.length > 1) {
        groups.forEach(function (g) {
          box.appendChild(el("h3", g === "default" ? "priority 5 (default)" : "priority " + g.slice(1), { "data-priority": g }));
          box.appendChild(table(state, l.groups[g]));
        });
      } else box.appendChild(table(state, l.jobs));
    }).catch(function (e) { say(e.message, false); });
  }
  function retry(id) {
    call("POST", "/api/job/" + encodeURIComponent(id) + "/retry").then(function (r) {
      say("Retried job " + r.id + (r.duplicate ? " (already retried)" : " (enqueued at " + r.seq + ")"), true);
      load();
    }).catch(function (e) { say(e.message, false); });
  }
  function attemptRow(a, label) {
    var err = a.error ? el("details", null, {}, [el("summary", errLine(a.error)), el("pre", a.error.stack || errLine(a.error), { class: "error" })]) : el("span", a.reason || "-");
    return el("tr", null, { "data-attempt": label }, [el("td", label), el("td", a.deliveryCount), el("td", a.retries), el("td", a.worker || "-", { class: "mono" }),
      el("td", when(a.startedAt)), el("td", when(a.finishedAt)), el("td", a.state, { class: "state " + a.state }), el("td", null, { class: "wrap" }, [err])]);
  }
  function openJob(id) {
    call("GET", "/api/jobs/page/" + encodeURIComponent(id)).then(function (p) {
      var box = $("jobpage");
      box.textContent = "";
      var r = p.record;
      box.appendChild(el("h2", null, {}, [el("span", "Job "), el("span", p.id, { class: "mono" }), el("span", " "),
        el("span", r ? r.state : "PENDING", { class: "state " + (r ? r.state : "PENDING"), id: "jobpage-state" })]));
      if (!r) box.appendChild(el("div", "No record: waiting to run, unknown id, or its record expired", { class: "msg" }));
      else {
        var rows = (r.attempts || []).map(function (a, i) { return attemptRow(a, String(i + 1)); });
        rows.push(attemptRow(r, String(rows.length + 1)));
        box.appendChild(el("table", null, { id: "attempts" }, [el("thead", null, {}, [el("tr", null, {}, ["attempt", "delivery", "retries", "worker", "start", "end", "outcome", "error"].map(function (h) { return el("th", h); }))]),
          el("tbody", null, {}, rows)]));
        if (r.state === "FAILURE" && r.job) box.appendChild(el("button", "Retry", { id: "jobpage-retry", onclick: function () { retry(p.id); } }));
        if ("result" in r) box.appendChild(el("pre", JSON.stringify(r.result, null, 2)));
      }
      if (p.steps.length > 0) {
        box.appendChild(el("h3", "Steps"));
        box.appendChild(el("table", null, { id: "steps" }, [el("tbody", null, {}, p.steps.map(function (s) {
          return el("tr", null, { "data-step": s.id }, [el("td", null, {}, [idLink(s.id)]), el("td", s.task), el("td", s.state, { class: "state " + s.state }), el("td", when(s.finishedAt))]);
        }))]));
      }
    }).catch(function (e) { say(e.message, false); });
  }
  var tabs = $("jobs-tabs");
  STATES.forEach(function (s) {
    tabs.appendChild(el("button", s, { "data-tab": s, class: s === current ? "tab on" : "tab", onclick: function () {
      current = s;
      Array.prototype.forEach.call(tabs.children, function (b) { b.className = b.getAttribute("data-tab") === s ? "tab on" : "tab"; });
      load();
    } }));
  });
  $("jobs-filter").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("[data-open]") : null;
    if (a) { ev.preventDefault(); location.hash = "job=" + encodeURIComponent(a.getAttribute("data-open")); }
  });
  function fromHash() {
    var m = /^#job=(.+)$/.exec(location.hash);
    if (m) openJob(decodeURIComponent(m[1]));
  }
  addEventListener("hashchange", fromHash);
  fromHash();
  (function poll() { load().then(function () { setTimeout(poll, 2000); }); })();
})();
`;

/** The card's few styles. */
export const JOBS_CSS = `
.tab { margin-right: 4px; }
.tab.on { font-weight: 600; border-color: #0969da; }
#jobpage details summary { cursor: pointer; }
#jobpage h3, #jobs-list h3 { font-size: 13px; margin: 8px 0 4px; }
`;
