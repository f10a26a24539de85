// The menu's two behaviours, in place of Bootstrap's 80 KB script bundle: the toggler
// opens and closes the collapsed menu on a phone, and a dropdown opens its list (closed
// again by a tap elsewhere or Escape). The markup keeps Bootstrap's data-bs-* attributes
// and state classes (.show), so the stylesheet is Bootstrap's.
(function () {
  "use strict";
  function setOpen(toggle, target, open) {
    target.classList.toggle("show", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function closeDropdowns(except) {
    document.querySelectorAll('[data-bs-toggle="dropdown"][aria-expanded="true"]').forEach(function (t) {
      if (t !== except && t.nextElementSibling) setOpen(t, t.nextElementSibling, false);
    });
  }
  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest ? ev.target.closest("[data-bs-toggle]") : null;
    if (!toggle) { closeDropdowns(null); return; }
    var kind = toggle.getAttribute("data-bs-toggle");
    if (kind === "collapse") {
      var target = document.querySelector(toggle.getAttribute("data-bs-target"));
      if (target) setOpen(toggle, target, !target.classList.contains("show"));
    } else if (kind === "dropdown") {
      ev.preventDefault();
      var menu = toggle.nextElementSibling;
      if (!menu) return;
      closeDropdowns(toggle);
      // Placed below its toggle by the stylesheet, as Bootstrap does without Popper.
      menu.setAttribute("data-bs-popper", "static");
      setOpen(toggle, menu, !menu.classList.contains("show"));
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") closeDropdowns(null);
  });
})();
