// The phone pages' service worker (ADR 0020: part of the one offline mechanism, beside
// the queue in offline.js). A page that must open without a connection (the sampler's,
// a checkpoint's log) says so with data-fk-keep; offline.js then asks this worker to
// keep that page and its own static files. Kept pages are fetched from the network
// first and refreshed when they answer; without a connection the kept copy is shown.
// Nothing else is kept: pages with personal data never opt in. The sign-in page drops
// everything (after a sign-out, or a session that ended).
"use strict";
var CACHE = "fk-pages-v1";
var STATIC = "{{ static_url|escapejs }}";
var LOGIN = "{{ login_url|escapejs }}";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("fk-pages-") === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (e) {
  var d = e.data || {};
  if (d.type !== "keep" || !Array.isArray(d.urls)) return;
  e.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(d.urls.map(function (u) {
      var url = new URL(u, self.location.href);
      if (url.origin !== self.location.origin) return null;
      return fetch(url.href, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
        // A redirect is the sign-in page, an error is nothing worth keeping.
        if (r.ok && !r.redirected) return cache.put(url.href, r);
        return null;
      }).catch(function () { return null; });
    }));
  }).then(function () {
    if (e.source) e.source.postMessage({type: "kept"});
  }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    if (url.pathname === LOGIN) {
      e.waitUntil(caches.delete(CACHE));
      return;
    }
    e.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(req, {ignoreVary: true}).then(function (kept) {
        return fetch(req).then(function (r) {
          if (kept && r.ok && !r.redirected) cache.put(req, r.clone());
          return r;
        }, function (err) {
          if (kept) return kept;
          throw err;
        });
      });
    }));
    return;
  }
  if (url.pathname.indexOf(STATIC) === 0) {
    e.respondWith(caches.match(req, {ignoreVary: true}).then(function (hit) {
      return hit || fetch(req);
    }));
  }
});
