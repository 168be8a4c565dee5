/**
 * The dashboard's Pause card, plain browser JavaScript like _page_script.ts
 * (whose poll hands it each overview through `window.qwPaused`): whether the
 * stream is paused and until when, each paused task, and buttons that POST
 * `/api/pause` and `/api/resume` with the same token as every request.
 */
export const PAUSE_JS = String.raw`
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function post(path, body) {
    var headers = { "content-type": "application/json" };
    var token = sessionStorage.getItem("qw-token");
    if (token) headers.authorization = "Bearer " + token;
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || r.status + " " + r.statusText);
        return j;
      });
    });
  }
  function say(text, ok) { var m = $("pause-msg"); m.textContent = text; m.className = "msg " + (ok ? "ok" : "err"); }
  function act(path, body, done) {
    post(path, body).then(function () { say(done, true); }).catch(function (e) { say(e.message, false); });
  }
  function describe(p) {
    return (p.until ? "until " + new Date(p.until).toLocaleString() : "until resumed") + (p.by ? " by " + p.by : "");
  }
  var shown = null;
  window.qwPaused = function (o) {
    var paused = o.paused || [];
    var key = JSON.stringify(paused);
    if (key === shown) return;
    shown = key;
    var stream = paused.filter(function (p) { return p.task === null; })[0];
    var box = $("pause");
    box.textContent = "";
    var line = el("div", null, { id: "pause-stream", "data-paused": stream ? "1" : "0" });
    line.appendChild(el("b", stream ? "Stream paused " + describe(stream) : "Stream running"));
    line.appendChild(document.createTextNode(" "));
    var b = el("button", stream ? "Resume stream" : "Pause stream", { id: stream ? "resume-stream" : "pause-stream-button" });
    b.onclick = function () { act(stream ? "/api/resume" : "/api/pause", {}, stream ? "Resumed the stream" : "Paused the stream"); };
    line.appendChild(b);
    box.appendChild(line);
    paused.filter(function (p) { return p.task !== null; }).forEach(function (p) {
      var row = el("div", null, { "data-paused-task": p.task });
      row.appendChild(el("span", "task ", {}));
      row.appendChild(el("span", p.task, { class: "mono" }));
      row.appendChild(document.createTextNode(" paused " + describe(p) + " "));
      var r = el("button", "Resume");
      r.onclick = function () { act("/api/resume", { task: p.task }, "Resumed task " + p.task); };
      row.appendChild(r);
      box.appendChild(row);
    });
    var form = el("form", null, { class: "lookup", id: "pause-task-form" });
    var input = el("input", null, { type: "text", id: "pause-task", placeholder: "task name", autocomplete: "off" });
    form.appendChild(input);
    form.appendChild(el("button", "Pause task", { type: "submit" }));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var task = input.value.trim();
      if (task) act("/api/pause", { task: task }, "Paused task " + task);
    };
    box.appendChild(form);
  };
})();
`;
