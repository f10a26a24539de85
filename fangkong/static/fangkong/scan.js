/* The place-code page: the phone keeps the visitor's name, a masked mobile and the
   signed token the server returns after the first scan (localStorage, this phone only).
   Later scans send the token alone and go through at once. */
(function () {
  "use strict";
  var KEY = "fk-visitor";
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function save(v) {
    try { localStorage.setItem(KEY, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }
  function masked(phone) {
    var d = (phone || "").replace(/\D/g, "");
    return d.length >= 7 ? d.slice(0, 3) + "****" + d.slice(-4) : "";
  }
  var me = load();
  var ok = document.getElementById("fk-scan-ok");
  if (ok) {
    var pending = null;
    try { pending = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { pending = null; }
    me = pending || me || {};
    me.token = ok.getAttribute("data-token");
    save(me);
    try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing kept */ }
    var who = document.getElementById("fk-scan-who");
    if (who && me.name) { who.textContent = me.name + " " + (me.phone || ""); }
    var forget = document.querySelector("[data-forget]");
    if (forget) {
      forget.addEventListener("click", function () { localStorage.removeItem(KEY); });
    }
    return;
  }
  var form = document.getElementById("fk-scan-form");
  if (!form) { return; }
  var ask = document.getElementById("fk-scan-ask");
  var rejected = ask && !ask.hasAttribute("data-maybe-hidden");
  if (rejected && me) { localStorage.removeItem(KEY); me = null; }
  form.addEventListener("submit", function () {
    var name = form.elements.namedItem("name");
    var phone = form.elements.namedItem("phone");
    if (name && name.value) {
      try {
        sessionStorage.setItem(KEY, JSON.stringify({ name: name.value, phone: masked(phone.value) }));
      } catch (e) { /* private mode */ }
    }
  });
  if (me && me.token && !rejected) {
    form.elements.namedItem("token").value = me.token;
    ask.classList.add("d-none");
    var known = document.getElementById("fk-scan-known");
    known.textContent = (me.name || "") + " " + (me.phone || "");
    known.classList.remove("d-none");
    form.submit();
  }
})();
