// The checkpoint crew's log: mode, plate (the local province's character typed
// already; recent plates one tap), people, health code, trip card, and one tap on the
// outcome records it. Every entry goes through the offline queue (offline.js): kept on
// the phone, sent when there is a network, recorded once by its client id.
(function () {
  "use strict";
  var root = document.getElementById("fk-checkpoint");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("fk-log"), plate = $("fk-plate"), prefix = plate.dataset.prefix || "";
  var rule = new RegExp("^(?:" + root.dataset.plateRule + ")$");
  var logged = 0, outcome = "pass";
  var q = window.FkQueue("fk-checkpoint-" + root.dataset.post, root.dataset.sync, root.dataset.csrf, render);
  function say(text, bad) {
    var note = $("fk-note");
    note.textContent = text;
    note.className = bad ? "alert alert-danger py-2" : "alert alert-success py-2";
  }
  function render(queue, answers, trouble) {
    $("fk-pending").textContent = String(queue.pending().length);
    $("fk-offline").hidden = trouble !== "offline" && trouble !== "failed";
    answers.forEach(function (a) {
      if (a.report_code) say(a.report_code + " ✓");
    });
    var list = $("fk-refused"), refused = queue.refused();
    list.textContent = "";
    refused.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.entry.plate || r.entry.mode) + " · " + r.error;
      list.appendChild(li);
    });
    $("fk-refused-box").hidden = !refused.length;
  }
  function value(name) {
    var el = form.querySelector("[name=" + name + "]:checked");
    return el ? el.value : "";
  }
  function squash(text) {
    return text.replace(/[\s·\-]/g, "").toUpperCase();
  }
  function mode() { return value("mode"); }
  function showMode() { $("fk-plate-box").hidden = mode() === "foot"; }
  form.addEventListener("change", function (e) { if (e.target.name === "mode") showMode(); });
  Array.prototype.forEach.call(form.querySelectorAll("button[name=outcome]"), function (b) {
    b.addEventListener("click", function () { outcome = b.value; });
  });
  var recent = $("fk-recent");
  if (recent) {
    recent.addEventListener("click", function (e) {
      var p = e.target.closest("[data-plate]");
      if (p) { plate.value = p.dataset.plate; $("fk-pass").focus(); }
    });
  }
  function arrival() {
    var origin = $("fk-origin").value;
    if (!origin) return null;
    return {origin_code: origin, left_on: $("fk-left").value, name: $("fk-name").value.trim(),
            id_number: $("fk-idno").value.trim().toUpperCase(), phone: $("fk-phone").value.trim(),
            destination_node: $("fk-dest").value, address: $("fk-addr").value.trim()};
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var m = mode(), reg = m === "foot" ? "" : squash(plate.value);
    if (m !== "foot" && (!reg || reg === prefix)) { say(root.dataset.needPlate, true); plate.focus(); return; }
    if (m === "car" && !rule.test(reg)) { say(root.dataset.badPlate, true); plate.focus(); return; }
    var more = parseInt($("fk-n-more").value, 10);
    var arr = arrival();
    if (arr && (!arr.name || !arr.id_number || !arr.destination_node)) { say(root.dataset.needArrival, true); return; }
    var temp = $("fk-temp").value.trim();
    var entry = {
      at: new Date().toISOString(), mode: m, plate: reg, outcome: outcome,
      occupants: more > 0 ? more : parseInt(value("occupants") || "1", 10),
      colour: value("colour") || "green", trip_card: $("fk-trip").checked,
      temperature: temp ? temp : null, origin: $("fk-from").value.trim(),
      destination: $("fk-to").value.trim(), arrival: arr
    };
    q.add(entry);
    logged += 1;
    $("fk-logged").textContent = String(logged);
    var label = form.querySelector("button[value=" + outcome + "]").textContent;
    say((reg || "") + " · " + entry.occupants + " · " + label + " ✓");
    // Ready for the next one: the plate back to the province, defaults again.
    plate.value = prefix;
    $("fk-n1").checked = true;
    $("fk-n-more").value = "";
    $("fk-c-green").checked = true;
    $("fk-trip").checked = true;
    ["fk-temp", "fk-from", "fk-to", "fk-name", "fk-idno", "fk-phone", "fk-addr"].forEach(function (id) { $(id).value = ""; });
    $("fk-origin").value = "";
    $("fk-dest").value = "";
    $("fk-arrival-box").open = false;
    outcome = "pass";
    if (m !== "foot") plate.focus();
  });
  $("fk-send").addEventListener("click", function () { q.flush(); });
  $("fk-dismiss").addEventListener("click", function () { q.dismiss(); });
  showMode();
  render(q, []);
  q.flush();
})();
