// A package recorded at a household's door on a phone: the form goes through the one
// offline queue (offline.js, ADR 0020), so it is kept on the phone without a connection
// and sent when one returns, recorded once however often it is sent. Without a script
// the form posts as usual.
(function () {
  "use strict";
  var root = document.getElementById("fk-packages");
  if (!root || !window.FkQueue) return;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("fk-package-form"), select = form.querySelector("select[name=household]");
  var labels = JSON.parse($("fk-package-labels").textContent || "{}");
  function say(text) {
    var note = $("fk-note");
    note.textContent = text;
    note.hidden = !text;
  }
  function render(queue, answers, trouble) {
    $("fk-pending").textContent = String(queue.pending().length);
    $("fk-offline").hidden = trouble !== "offline" && trouble !== "failed";
    var done = answers.filter(function (a) { return a.status !== "refused"; }).length;
    if (done) say(root.dataset.done.replace("%s", String(done)));
    var list = $("fk-refused"), refused = queue.refused();
    list.textContent = "";
    refused.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.entry.label || "") + ": " + r.error;
      list.appendChild(li);
    });
    $("fk-refused-box").hidden = !refused.length;
  }
  var q = window.FkQueue("fk-packages-" + root.dataset.store, root.dataset.sync, root.dataset.csrf, render);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var id = select.value;
    if (!id) return;
    var label = labels[id] || "";
    q.add({household_id: parseInt(id, 10), given_at: new Date().toISOString(), label: label});
    say(root.dataset.kept.replace("%s", label));
  });
  $("fk-send").addEventListener("click", function () { q.flush(); });
  $("fk-dismiss").addEventListener("click", function () { q.dismiss(); });
  render(q, []);
  q.flush();
})();
