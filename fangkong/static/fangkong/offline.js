// The one offline queue of the phone pages (ADR 0020): records are kept on the device
// (localStorage) with a client id each, sent in batches when there is a network, and
// dropped only when the server has answered for them. The server records a client id
// once, so sending a batch twice (a lost answer, a retry, a second tab) changes nothing.
//   var q = FkQueue("fk-samples-12", "/api/v1/...", csrfToken, function (state) {...});
//   q.add({barcode: "...", person: "..."});   // gets a client_id, kept, sent when it can
//   q.pending().length                          // "not yet sent"
// The endpoint takes {"records": [...]} and answers {"answers": [{"client_id", "status",
// "error"}...]}; "refused" records move to q.refused() for the person to see.
// The page itself is kept by the service worker (templates/core/sw.js) when it opts in
// with data-fk-keep, so that it opens again with no connection.
(function () {
  "use strict";
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function store(key, list) {
    try { localStorage.setItem(key, JSON.stringify(list)); } catch (e) { /* full or private mode */ }
  }
  window.FkQueue = function (name, url, csrf, onChange) {
    var keyP = name + ":pending", keyR = name + ":refused", sending = false;
    var q = {
      uuid: uuid4,
      pending: function () { return load(keyP); },
      refused: function () { return load(keyR); },
      dismiss: function () { store(keyR, []); onChange(q, []); },
      add: function (entry) {
        entry.client_id = entry.client_id || uuid4();
        var list = load(keyP);
        list.push(entry);
        store(keyP, list);
        onChange(q, []);
        q.flush();
        return entry;
      },
      flush: function () {
        var batch = load(keyP).slice(0, 500);
        if (sending || !batch.length) return;
        if (navigator.onLine === false) { onChange(q, [], "offline"); return; }
        sending = true;
        fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
          body: JSON.stringify({records: batch})
        }).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        }).then(function (data) {
          var answered = {}, refused = load(keyR);
          (data.answers || []).forEach(function (a) {
            answered[a.client_id] = a;
            if (a.status === "refused") {
              var entry = batch.filter(function (e) { return e.client_id === a.client_id; })[0] || {};
              refused.push({entry: entry, error: a.error});
            }
          });
          store(keyP, load(keyP).filter(function (e) { return !answered[e.client_id]; }));
          store(keyR, refused);
          sending = false;
          onChange(q, data.answers || []);
          if (load(keyP).length) q.flush();
        }).catch(function () {
          // No answer (no network, a server error): everything stays queued.
          sending = false;
          onChange(q, [], "failed");
        });
      }
    };
    window.addEventListener("online", function () { q.flush(); });
    setInterval(function () { q.flush(); }, 15000);
    return q;
  };
  // A page marked data-fk-keep="<the service worker's URL>" opens without a connection
  // too: the worker keeps it and its own scripts and styles. <html data-fk-kept> says
  // when that is done.
  var keep = document.querySelector("[data-fk-keep]");
  if (keep && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.type === "kept") document.documentElement.setAttribute("data-fk-kept", "1");
    });
    navigator.serviceWorker.register(keep.getAttribute("data-fk-keep"), {scope: "/"}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var urls = [location.href.split("#")[0]];
      document.querySelectorAll("script[src], link[rel=stylesheet][href], link[rel=icon][href]").forEach(function (el) {
        urls.push(el.src || el.href);
      });
      reg.active.postMessage({type: "keep", urls: urls});
    }).catch(function () { /* no worker: the page still works while it stays open */ });
  }
})();
