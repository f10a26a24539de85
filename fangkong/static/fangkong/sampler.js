// The sampler's page: a tube barcode, then each person by resident code, ID number or
// name; the tube closes at the pool size. Every record goes through the offline queue
// (offline.js), so the page keeps working without a connection.
(function () {
  "use strict";
  var root = document.getElementById("fk-sampler");
  if (!root) return;
  var pool = parseInt(root.dataset.pool, 10);
  var $ = function (id) { return document.getElementById(id); };
  var tube = $("fk-tube"), person = $("fk-person"), point = $("fk-point");
  var counts = {};  // tube barcode -> samples taken here (queued or answered)
  var closed = {};
  var q = window.FkQueue("fk-samples-" + root.dataset.round, root.dataset.sync, root.dataset.csrf, render);
  function kind(text) {
    if (/^FK/.test(text)) return "code";
    if (/^[0-9]{17}[0-9Xx]$/.test(text)) return "id_number";
    return "";
  }
  function say(text, bad) {
    var note = $("fk-note");
    note.textContent = text;
    note.className = bad ? "alert alert-danger py-2" : "alert alert-success py-2";
  }
  function render(queue, answers, trouble) {
    answers.forEach(function (a) {
      if (a.status !== "refused" && a.barcode) {
        counts[a.barcode] = Math.max(counts[a.barcode] || 0, a.size);
        if (a.closed) closed[a.barcode] = true;
      }
    });
    $("fk-pending").textContent = String(queue.pending().length);
    $("fk-offline").hidden = trouble !== "offline" && trouble !== "failed";
    var list = $("fk-refused"), refused = queue.refused();
    list.textContent = "";
    refused.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.entry.barcode || "") + " · " + (r.entry.label || r.entry.person || "") + ": " + r.error;
      list.appendChild(li);
    });
    $("fk-refused-box").hidden = !refused.length;
    showTube();
  }
  function showTube() {
    var b = tube.value.trim();
    var n = counts[b] || 0;
    $("fk-count").textContent = b ? n + " / " + pool : "—";
    person.disabled = !b || !!closed[b];
  }
  function add(how, value, label) {
    var b = tube.value.trim();
    if (!b) { say(root.dataset.needTube, true); tube.focus(); return; }
    if (closed[b]) { say(root.dataset.closedTube, true); return; }
    q.add({barcode: b, how: how, person: value, label: label, taken_at: new Date().toISOString(),
           point_id: point && point.value ? parseInt(point.value, 10) : null, action: "sample"});
    counts[b] = (counts[b] || 0) + 1;
    say(label + " ✓ " + counts[b] + " / " + pool);
    if (counts[b] >= pool) {
      closed[b] = true;
      say(root.dataset.fullTube.replace("%s", b));
      tube.value = "";
      tube.focus();
    } else {
      person.focus();
    }
    person.value = "";
    $("fk-found").textContent = "";
    showTube();
  }
  function search(text) {
    if (navigator.onLine === false) { say(root.dataset.needNetwork, true); return; }
    fetch(root.dataset.lookup + "?q=" + encodeURIComponent(text), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var box = $("fk-found");
        box.textContent = "";
        if (!data.persons.length) { say(root.dataset.noneFound, true); return; }
        data.persons.forEach(function (p) {
          var btn = document.createElement("button");
          btn.type = "button";
          btn.className = "btn btn-outline-primary w-100 mb-2";
          btn.textContent = p.name + " · " + p.grid + " · " + p.id;
          btn.addEventListener("click", function () { add("person", String(p.pk), p.name); });
          box.appendChild(btn);
        });
      })
      .catch(function () { say(root.dataset.needNetwork, true); });
  }
  tube.addEventListener("input", showTube);
  tube.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); if (tube.value.trim()) person.focus(); }
  });
  $("fk-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = person.value.trim();
    if (!text) return;
    var how = kind(text);
    if (how) add(how, text, how === "code" ? root.dataset.byCode : text.slice(0, 3) + "…" + text.slice(-4));
    else search(text);
  });
  $("fk-close").addEventListener("click", function () {
    var b = tube.value.trim();
    if (!b || !counts[b]) return;
    q.add({barcode: b, action: "close", taken_at: new Date().toISOString()});
    closed[b] = true;
    say(root.dataset.fullTube.replace("%s", b));
    tube.value = "";
    showTube();
    tube.focus();
  });
  $("fk-send").addEventListener("click", function () { q.flush(); });
  $("fk-dismiss").addEventListener("click", function () { q.dismiss(); });
  render(q, []);
  q.flush();
})();
