// The field app's result form on a weak network.
// - Keeps what was typed in localStorage until the server confirms, so a failed send,
//   a closed tab or a dead battery loses nothing.
// - Says plainly when the network failed; the same client_id goes with the retry, so the
//   server records the result once however many times it arrives.
// - Adds the phone's location when the browser offers it (never blocks submitting).
// - Dials the number a tap on "Call" was answered with.
(function () {
  "use strict";
  function key(form) { return "fk-task-" + form.dataset.order; }
  function save(form) {
    var data = {};
    new FormData(form).forEach(function (v, k) { if (k !== "csrfmiddlewaretoken") data[k] = v; });
    try { localStorage.setItem(key(form), JSON.stringify(data)); } catch (e) { /* private mode */ }
  }
  function restore(form) {
    var raw = null;
    try { raw = localStorage.getItem(key(form)); } catch (e) { return; }
    if (!raw) return;
    var data = JSON.parse(raw);
    Object.keys(data).forEach(function (name) {
      var el = form.elements[name];
      if (!el || name === "version") return;
      if (el.type === "checkbox") el.checked = data[name] === el.value;
      else el.value = data[name];
    });
  }
  function locate(form) {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      form.elements.lng.value = pos.coords.longitude.toFixed(6);
    }, function () { /* refused or unavailable: submit without */ }, { timeout: 5000, maximumAge: 600000 });
  }
  function setup(root) {
    var form = (root || document).querySelector("#fk-result-form");
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    restore(form);
    form.addEventListener("input", function () { save(form); });
    form.addEventListener("change", function () { save(form); });
    form.addEventListener("submit", function () { save(form); });
    locate(form);
  }
  // The answer to a tap on "Call" holds the number as a tel: link: follow it (the tap's
  // user activation is still fresh), then take it out of the page again and show the
  // button, so the number stays in the page only as long as it takes to dial.
  function dial(root) {
    var link = (root || document).querySelector("a[data-dial]");
    if (!link) return;
    link.removeAttribute("data-dial");
    link.click();
    setTimeout(function () {
      var box = link.parentNode;
      var form = box && box.querySelector("form[hidden]");
      if (!form) return;
      link.remove();
      form.hidden = false;
    }, 1500);
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); dial(document); });
  document.body && document.body.addEventListener("htmx:afterSwap", function () { setup(document); dial(document); });
  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.detail.elt && ev.detail.elt.closest ? ev.detail.elt.closest("#fk-result-form") : null;
    if (!form) return;
    var note = document.getElementById("fk-network");
    if (ev.detail.failed && !ev.detail.xhr.status) {
      // No answer at all: the network, not the server. Keep the form as it is.
      if (note) note.classList.remove("d-none");
      return;
    }
    if (ev.detail.successful) {
      try { localStorage.removeItem(key(form)); } catch (e) { /* ignore */ }
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var note = document.getElementById("fk-network");
    if (note) note.classList.remove("d-none");
  });
  // A 400/409 answer carries the re-rendered form (errors, or "changed by someone
  // else"): swap it in instead of ignoring it, as htmx does with error statuses.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    if (ev.detail.xhr.status === 400 || ev.detail.xhr.status === 409) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
})();
