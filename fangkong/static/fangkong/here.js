// "I'm here" on a phone: the tap goes through the one offline queue (offline.js, ADR
// 0020) with the time it was tapped, so a person who reaches the assembly point where
// there is no signal is recorded at the time they arrived, once, when the phone is back
// online. Without a script the form posts as usual.
(function () {
  "use strict";
  var root = document.getElementById("fk-here");
  if (!root || !window.FkQueue) return;
  var $ = function (id) { return document.getElementById(id); };
  function hhmm(d) {
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }
  function render(queue, answers, trouble) {
    var pending = queue.pending();
    $("fk-pending").textContent = String(pending.length);
    $("fk-here-queue").hidden = !pending.length;
    $("fk-offline").hidden = !pending.length || (trouble !== "offline" && trouble !== "failed");
    answers.forEach(function (a) {
      var form = root.querySelector(".fk-here-form[data-client='" + a.client_id + "']");
      if (!form || a.status === "refused") return;
      var done = document.createElement("p");
      done.className = "fs-5 text-success fk-arrived";
      done.textContent = root.dataset.done.replace("%s", hhmm(new Date(a.arrived_at)));
      form.replaceWith(done);
    });
    var list = $("fk-refused");
    list.textContent = "";
    queue.refused().forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.entry.label || "") + ": " + r.error;
      list.appendChild(li);
    });
    // A tap still waiting shows as kept, after a reload too.
    pending.forEach(function (e) {
      var form = root.querySelector(".fk-here-form[data-callout='" + e.callout_id + "']");
      if (form) mark(form, e);
    });
  }
  function mark(form, entry) {
    form.setAttribute("data-client", entry.client_id);
    form.querySelector(".fk-here").hidden = true;
    var note = form.querySelector(".fk-kept");
    note.textContent = root.dataset.kept.replace("%s", hhmm(new Date(entry.tapped_at)));
    note.hidden = false;
  }
  var q = window.FkQueue("fk-here", root.dataset.sync, root.dataset.csrf, render);
  root.querySelectorAll(".fk-here-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var entry = {
        callout_id: parseInt(form.dataset.callout, 10),
        tapped_at: new Date().toISOString(),
        label: form.dataset.label || ""
      };
      entry.client_id = q.uuid();
      mark(form, entry);
      q.add(entry);
    });
  });
  $("fk-send").addEventListener("click", function () { q.flush(); });
  render(q, []);
  q.flush();
})();
