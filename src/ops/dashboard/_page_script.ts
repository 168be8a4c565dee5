/**
 * The dashboard page's script, plain browser JavaScript (no backticks, so it
 * fits a raw string). It polls `/api/overview` once a second (the next poll
 * starts a second after the last one ended), re-reads the dead letters when
 * their count changes, and builds every element with textContent, never HTML
 * from data. A token given once as `?token=` is kept in sessionStorage and
 * sent as `Authorization: Bearer`.
 */
export const PAGE_JS = String.raw`
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem("qw-token", params.get("token"));
    params.delete("token");
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  }
  var token = sessionStorage.getItem("qw-token");
  var $ = function (id) { return document.getElementById(id); };

  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) el.setAttribute(k, attrs[k]);
    }
    (function add(cs) {
      for (var i = 0; i < cs.length; i++) {
        var c = cs[i];
        if (c === null || c === undefined) continue;
        if (Array.isArray(c)) add(c);
        else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
      }
    })(Array.prototype.slice.call(arguments, 2));
    return el;
  }
  function fill(id) {
    var el = $(id);
    el.replaceChildren(h.apply(null, ["div", { class: "fill" }].concat(Array.prototype.slice.call(arguments, 1))));
  }
  function api(method, path, body) {
    var headers = { "content-type": "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.error || r.status + " " + r.statusText);
          return j;
        });
      });
  }
  function num(n) { return n.toLocaleString("en-US"); }
  function ago(iso) {
    if (!iso) return "-";
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return Math.floor(s) + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function until(iso) {
    if (!iso) return "-";
    var s = Math.round((Date.parse(iso) - Date.now()) / 1000);
    if (s <= 0) return "due";
    if (s < 120) return "in " + s + " s";
    if (s < 7200) return "in " + Math.round(s / 60) + " min";
    return "in " + Math.round(s / 3600) + " h";
  }
  function table(cols, rows, key) {
    if (rows.length === 0) return null;
    return h("table", {},
      h("thead", {}, h("tr", {}, cols.map(function (c) { return h("th", { class: c.num ? "num" : null, text: c.label }); }))),
      h("tbody", {}, rows.map(function (r) {
        return h("tr", key ? key(r) : {}, cols.map(function (c) {
          var v = c.get(r);
          if (v instanceof Node) return h("td", { class: c.cls || null }, v);
          var cls = [c.cls, c.num ? "num" : null, c.num && v === 0 ? "zero" : null, c.bad && v > 0 ? "bad" : null].filter(Boolean).join(" ");
          return h("td", { class: cls || null, text: c.num ? num(v) : v });
        }));
      })));
  }

  var TILES = [
    ["waiting", "waiting"], ["inFlight", "in flight"], ["delayed", "delayed"], ["running", "running"],
    ["succeeded", "succeeded"], ["failed", "failed"], ["retried", "retried"], ["expired", "expired"], ["revoked", "revoked"], ["deadLettered", "dead-lettered"], ["workers", "workers online"],
  ];
  function renderTiles(t) {
    fill("tiles", TILES.map(function (x) {
      var bad = (x[0] === "failed" || x[0] === "deadLettered") && t[x[0]] > 0;
      return h("div", { class: "tile" + (bad ? " bad" : ""), "data-total": x[0] }, h("div", { class: "n", text: num(t[x[0]] || 0) }), h("div", { class: "l", text: x[1] }));
    }));
  }
  // A line of waiting jobs per priority, once a level other than the default (5) has any.
  function renderPriorities(ps) {
    var other = (ps || []).some(function (p) { return p.priority !== 5 && p.waiting + p.inFlight > 0; });
    var text = other ? "Waiting by priority: " + ps.map(function (p) { return p.priority + ": " + num(p.waiting); }).join(", ") : "";
    fill("priorities", h("div", { class: "hint", "data-priorities": "", text: text }));
  }
  function renderTasks(tasks) {
    var cols = ["waiting", "delayed", "running", "succeeded", "failed", "retried", "expired", "revoked", "deadLettered"].map(function (k) {
      return { label: k === "deadLettered" ? "dead-lettered" : k, num: true, cls: k, bad: k === "failed" || k === "deadLettered", get: function (r) { return r[k] || 0; } };
    });
    cols.unshift({ label: "task", cls: "mono", get: function (r) { return r.task; } });
    fill("tasks", table(cols, tasks, function (r) { return { "data-task": r.task }; }) || h("div", { class: "none", text: "No jobs yet: enqueue one, or start a worker" }));
  }
  function renderWorkers(ws) {
    fill("workers", table([
      { label: "worker", cls: "mono", get: function (w) {
        return h("span", { title: w.host + " pid " + w.pid + ", qw " + w.version }, w.name + (w.draining ? " (draining)" : ""));
      } },
      { label: "ready", get: function (w) { return w.ready + "/" + w.concurrency; } },
      { label: "done", num: true, get: function (w) { return w.done; } },
      { label: "failed", num: true, bad: true, get: function (w) { return w.failed; } },
      { label: "retried", num: true, get: function (w) { return w.retried; } },
      { label: "running", cls: "mono", get: function (w) {
        if (w.running.length === 0) return "-";
        var shown = w.running.slice(0, 3).map(function (id) { return id.length > 12 ? id.slice(0, 8) + "…" : id; }).join(", ");
        return h("span", { title: w.running.join("\n") }, w.running.length + ": " + shown + (w.running.length > 3 ? ", …" : ""));
      } },
      { label: "up since", get: function (w) { return ago(w.startedAt).replace(" ago", ""); } },
    ], ws, function (w) { return { "data-worker": w.name }; }) || h("div", { class: "none", text: "None online" }));
  }
  function renderSchedules(ss) {
    if (ss === null || ss.length === 0) return fill("schedules", h("div", { class: "none", text: "none" }));
    fill("schedules", table([
      { label: "task", cls: "mono", get: function (s) { return s.task; } },
      { label: "schedule", cls: "mono", get: function (s) { return s.spec; } },
      { label: "next tick", get: function (s) { return s.next ? until(s.next) + " (" + new Date(s.next).toLocaleTimeString() + ")" : "-"; } },
      { label: "last tick", get: function (s) { return ago(s.lastTick); } },
    ], ss));
  }

  var chart = null;
  function renderChart(rate) {
    var data = [rate.t, rate.succeeded, rate.failed];
    var width = $("chart").clientWidth || 800;
    if (chart === null) {
      chart = new uPlot({
        width: width, height: 220,
        legend: { live: false },
        cursor: { points: { show: false } },
        scales: {
          // At least a minute wide, so a short history does not zoom into fractions of a second.
          x: { time: true, range: function (u, min, max) { return min === null ? [Date.now() / 1000 - 60, Date.now() / 1000] : [Math.min(min, max - 60), max]; } },
          y: { range: function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.15)]; } },
        },
        axes: [{ space: 70 }, { label: "jobs/s", size: 60 }],
        series: [{},
          { label: "succeeded/s", stroke: "#1a7f37", fill: "rgba(26,127,55,0.08)", width: 2, points: { show: false } },
          { label: "failed/s", stroke: "#cf222e", width: 2, points: { show: false } }],
      }, data, $("chart"));
      addEventListener("resize", function () { chart.setSize({ width: $("chart").clientWidth, height: 220 }); });
    } else chart.setData(data);
  }

  var dlqSeen = null;
  function loadDlq() {
    return api("GET", "/api/dlq").then(function (d) {
      $("dlq-count").textContent = d.total === 0 ? "" : d.total > d.letters.length ? d.total + " (latest " + d.letters.length + " shown)" : String(d.total);
      $("purge").disabled = d.total === 0;
      fill("dlq", table([
        { label: "seq", num: true, get: function (l) { return l.seq; } },
        { label: "task", cls: "mono", get: function (l) { return l.task; } },
        { label: "id", cls: "mono", get: function (l) {
          return l.id ? h("a", { href: "#job", title: "Look this job up", onclick: function () { $("job-id").value = l.id; showJob(l.id); } }, l.id) : "-";
        } },
        { label: "reason", cls: "wrap", get: function (l) { return l.reason + (l.error ? " (" + l.error.name + ": " + l.error.message + ")" : ""); } },
        { label: "deliveries", num: true, get: function (l) { return l.deliveries === null ? 0 : l.deliveries; } },
        { label: "when", get: function (l) { return ago(l.at); } },
        { label: "", get: function (l) {
          return h("span", {}, h("button", { onclick: function () { showLetter(l.seq); }, text: "Show" }), " ",
            h("button", { "data-replay": l.seq, onclick: function () { replay(l.seq); }, text: "Replay" }));
        } },
      ], d.letters, function (l) { return { "data-seq": l.seq }; }) || h("div", { class: "none", text: "No dead letters" }));
    });
  }
  function say(id, text, ok) { var el = $(id); el.textContent = text; el.className = "msg " + (ok ? "ok" : "err"); }
  function showLetter(seq) {
    api("GET", "/api/dlq/" + seq).then(function (l) {
      fill("dlq-show", h("h2", {}, "Dead letter " + l.seq + " ", h("span", { class: "hint", text: l.subject })),
        h("pre", { text: l.headers.map(function (x) { return x[0] + ": " + x[1]; }).join("\n") }),
        h("pre", { text: l.body !== undefined ? l.body : "(base64) " + l.bodyBase64 }));
    }).catch(function (e) { say("dlq-msg", e.message, false); });
  }
  function replay(seq) {
    api("POST", "/api/dlq/" + seq + "/replay").then(function (r) {
      say("dlq-msg", "Replayed dead letter " + r.seq + " as job " + r.id + (r.duplicate ? " (already replayed)" : ""), true);
      dlqSeen = null;
      return loadDlq();
    }).catch(function (e) { say("dlq-msg", e.message, false); });
  }
  var armed = null;
  $("purge").addEventListener("click", function () {
    var b = $("purge");
    if (!armed) {
      b.classList.add("armed");
      b.textContent = "Click again to purge";
      armed = setTimeout(function () { armed = null; b.classList.remove("armed"); b.textContent = "Purge all"; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.classList.remove("armed");
    b.textContent = "Purge all";
    api("POST", "/api/dlq/purge").then(function (r) {
      say("dlq-msg", "Purged " + r.purged + " dead letter" + (r.purged === 1 ? "" : "s"), true);
      fill("dlq-show");
      dlqSeen = null;
      return loadDlq();
    }).catch(function (e) { say("dlq-msg", e.message, false); });
  });

  var FINAL = { SUCCESS: 1, FAILURE: 1, REVOKED: 1 };
  function showJob(id) {
    return api("GET", "/api/job/" + encodeURIComponent(id)).then(function (r) {
      var rows = [["task", r.task], ["retries", r.retries], ["deliveries", r.deliveryCount], ["worker", r.worker],
        ["finished", r.finishedAt && FINAL[r.state] ? new Date(r.finishedAt).toLocaleString() : null], ["dead-lettered", r.deadLetter], ["reason", r.reason]];
      var parts = [h("div", {}, h("span", { class: "mono", text: r.id }), " ", h("span", { class: "state " + r.state, id: "job-state", text: r.state }))];
      if (r.runningOn && r.runningOn.length) parts.push(h("div", { class: "msg", text: "Running now on " + r.runningOn.join(", ") }));
      else if (r.state === "PENDING") parts.push(h("div", { class: "msg", text: "No record: waiting to run, unknown id, or its record expired" }));
      parts.push(h("dl", { class: "kv" }, rows.filter(function (x) { return x[1] !== undefined && x[1] !== null; }).map(function (x) {
        return [h("dt", { text: x[0] }), h("dd", { text: String(x[1]) })];
      })));
      if (r.progress) {
        parts.push(h("div", {}, "progress ", h("span", { class: "bar" }, h("div", { style: "width:" + Math.round(r.progress.fraction * 100) + "%" })),
          " " + Math.round(r.progress.fraction * 100) + "%", r.progress.meta === undefined ? null : h("pre", { text: JSON.stringify(r.progress.meta, null, 2) })));
      }
      if (r.error) parts.push(h("pre", { class: "error", text: r.error.stack || r.error.name + ": " + r.error.message }));
      if ("result" in r) parts.push(h("pre", { text: JSON.stringify(r.result, null, 2) }));
      var term = h("input", { type: "checkbox", id: "terminate" });
      var msg = h("div", { class: "msg", id: "revoke-msg" });
      parts.push(h("div", {}, h("button", { class: "danger", id: "revoke", disabled: FINAL[r.state] ? "" : null, onclick: function () {
        api("POST", "/api/job/" + encodeURIComponent(r.id) + "/revoke", { terminate: term.checked }).then(function (x) {
          msg.className = "msg ok";
          msg.textContent = x.revoked ? "Revoked (it was " + x.state + ")" : "Already ended as " + x.state;
          setTimeout(function () { showJob(r.id).then(function () { say("revoke-msg", msg.textContent, true); }); }, 1000);
        }).catch(function (e) { msg.className = "msg err"; msg.textContent = e.message; });
      }, text: "Revoke" }), " ", h("label", {}, term, " terminate if running"), msg));
      fill("job", h("div", {}, parts));
    }).catch(function (e) { fill("job", h("div", { class: "msg err", text: e.message })); });
  }
  $("lookup").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("job-id").value.trim();
    if (id) showJob(id);
  });

  function poll() {
    api("GET", "/api/overview").then(function (o) {
      renderTiles(o.totals);
      renderPriorities(o.priorities);
      renderTasks(o.tasks);
      renderWorkers(o.workers);
      renderSchedules(o.schedules);
      renderChart(o.history.chart);
      if (window.qwPaused) window.qwPaused(o);
      var st = $("status");
      st.className = "";
      st.textContent = "live · " + new Date(o.at).toLocaleTimeString() + (o.consumerFound ? "" : " · no worker has run on this stream yet") +
        ((o.paused || []).some(function (p) { return p.task === null; }) ? " · paused" : "");
      var key = o.totals.deadLettered + ":" + o.deadLetterSeq;
      if (dlqSeen !== key) { dlqSeen = key; return loadDlq(); }
    }).catch(function (e) {
      var st = $("status");
      st.className = "down";
      st.textContent = "not updating: " + e.message;
    }).then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
`;
