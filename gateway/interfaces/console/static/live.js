// Keeps an open console page current: polls /live.json every data-live-interval seconds and
// updates the figures in place (textContent only: nothing from the server becomes markup).
// Without this script every page is complete as served; it only saves the reload.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-live-url");
  if (!url || !window.fetch) { return; }
  var every = Math.max(parseFloat(body.getAttribute("data-live-interval") || "5"), 0.5) * 1000;
  var timer = null;

  function status(text) {
    var el = document.getElementById("live-status");
    if (el) { el.textContent = text; }
  }

  function perMinute(rate) {
    return rate === null || rate === undefined ? "\u2014" : String(Math.round(rate * 600) / 10);
  }

  function setText(el, text) {
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.add("changed");
    }
  }

  function cells(row, values) {
    while (row.children.length < values.length) { row.appendChild(document.createElement("td")); }
    values.forEach(function (value, i) {
      var cell = row.children[i];
      if (i > 0) { cell.className = "num"; }
      if (cell.textContent !== value) { cell.textContent = value; }
    });
  }

  function queues(list) {
    document.querySelectorAll("tr[data-queue]").forEach(function (row) {
      var q = list.find(function (s) { return s.name === row.getAttribute("data-queue"); });
      if (q) {
        cells(row, [q.name, String(q.messages), String(q.ready),
          q.counted_unacked ? String(q.unacked) : "?", perMinute(q.in_rate), perMinute(q.out_rate)]);
      }
    });
    var tbody = document.getElementById("queue-rows");
    if (!tbody) { return; }
    list.forEach(function (q) {  // a queue declared since the page was served
      if (!tbody.querySelector('tr[data-queue="' + CSS.escape(q.name) + '"]')) {
        tbody.querySelectorAll("tr:not([data-queue])").forEach(function (r) { r.remove(); });
        var row = document.createElement("tr");
        row.setAttribute("data-queue", q.name);
        tbody.appendChild(row);
        cells(row, [q.name, String(q.messages), String(q.ready),
          q.counted_unacked ? String(q.unacked) : "?", perMinute(q.in_rate), perMinute(q.out_rate)]);
      }
    });
  }

  function charts() {
    document.querySelectorAll("img[data-chart]").forEach(function (img) {
      var src = img.getAttribute("src").replace(/([?&])t=\d+&?/, "$1").replace(/[?&]$/, "");
      img.setAttribute("src", src + (src.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now());
    });
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) {
        if (answer.status === 401) {
          status("signed out: reload the page to sign in again");
          window.clearInterval(timer);
          return null;
        }
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.json();
      })
      .then(function (data) {
        if (!data) { return; }
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var value = data.totals[el.getAttribute("data-live")];
          if (value !== undefined) { setText(el, String(value)); }
        });
        document.querySelectorAll("progress[data-live-progress]").forEach(function (bar) {
          var parts = bar.getAttribute("data-live-progress").split("/");
          var done = data.totals[parts[0]], of = data.totals[parts[1]];
          if (typeof done === "number" && typeof of === "number") {
            bar.max = Math.max(of, 1);
            bar.value = Math.min(done, bar.max);
          }
        });
        // A page whose lists come from the server (a call, a sailing) keeps its figures
        // current here and says when the lists themselves changed: a reload shows them.
        var served = body.getAttribute("data-live-fingerprint");
        var changed = document.getElementById("live-changed");
        if (served && changed && data.fingerprint && data.fingerprint !== served) {
          changed.hidden = false;
        }
        queues(data.queues || []);
        charts();
        var at = document.getElementById("sampled-at");
        if (at && data.sampled_at) {
          at.textContent = new Date(data.sampled_at * 1000).toISOString().replace(/\.\d+Z$/, "+00:00");
        }
        status(data.broker_error ? "(" + data.broker_error + ")" : "(live)");
        body.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function (error) { status("(not updated: " + error.message + ")"); });
  }

  timer = window.setInterval(tick, every);
}());
