// tend's status page script: countdowns that tick, and live refresh over
// Server-Sent Events (/api/v1/stream). Every page is complete without it;
// it only re-fetches the page it is on and swaps in the new <main>.
"use strict";
(function () {
  document.documentElement.setAttribute("data-js", "on");

  function span(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-at]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-at")) - now) / 1000;
      if (!isNaN(left)) el.textContent = left > 0 ? "in " + span(left) : "due now";
    });
  }

  var busy = false, again = false, timer = null;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main) { main.replaceWith(next); tick(); }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; soon(); }
      });
  }
  function soon() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  // What this page shows: "dashboard", "job:NAME", "stack:NAME", "run:ID", "events".
  var live = document.body.getAttribute("data-live") || "";
  var colon = live.indexOf(":");
  var what = colon < 0 ? live : live.slice(0, colon);
  var name = colon < 0 ? "" : live.slice(colon + 1);
  function wanted(type, d) {
    switch (what) {
      case "dashboard": case "events": return true;
      case "job": return type === "commit-applied" || d.job === name;
      case "stack": return d.stack === name;
      case "run": return String(d.run) === name;
      default: return false;
    }
  }

  // The health line, the title and the favicon follow every notice.
  function health() {
    fetch("/api/v1/health", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) {
        if (!h) return;
        var line = document.getElementById("health");
        if (line) {
          line.className = "health " + h.word;
          line.lastChild.textContent = " " + h.line;
          line.firstChild.textContent = h.ok ? "\u2714" : "\u2716";
        }
        var base = document.title.replace(/^\u2716 \d+ failing \u00b7 /, "");
        document.title = h.ok ? base : "\u2716 " + h.failing.length + " failing \u00b7 " + base;
        var icon = document.querySelector("link[rel=icon]");
        if (icon) icon.setAttribute("href", "/favicon-" + h.word + ".svg");
      })
      .catch(function () {});
  }

  tick();
  setInterval(tick, 1000);
  if (!live) return;
  // A running run's log grows without notices: re-fetch while it runs.
  setInterval(function () { if (document.querySelector("main[data-running]")) refresh(); }, 2000);
  // Ages ("3 min ago") drift and a source goes stale without a notice:
  // refresh now and then even when nothing happens.
  setInterval(refresh, 60000);
  setInterval(health, 15000);
  if (!window.EventSource) return;
  var source = new EventSource("/api/v1/stream"), opened = false;
  source.addEventListener("open", function () { if (opened) soon(); opened = true; });
  ["run-started", "run-finished", "commit-applied", "stack-changed"].forEach(function (type) {
    source.addEventListener(type, function (e) {
      var d = {};
      try { d = JSON.parse(e.data); } catch (_) { return; }
      if (wanted(type, d)) soon();
      health();
    });
  });
  source.addEventListener("lagged", function () { soon(); health(); });
})();
