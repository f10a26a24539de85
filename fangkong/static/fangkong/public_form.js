// The returnee form (public, and the staff's copy) and the status lookup, for residents
// who seldom fill in forms.
// - After a refused submit, focus moves to the first field with an error, scrolled to
//   the middle of the screen: its message (just above it) is the first thing seen, and
//   the one a screen reader reads out.
// - The plate / train / flight field is marked required while the way of travel needs it.
// - The numeric keypad that ID numbers open has no X: a button adds the final X.
(function () {
  "use strict";
  document.querySelectorAll("form[data-fk-guided]").forEach(function (form) {
    var first = form.querySelector("[aria-invalid=true]");
    if (first) {
      first.focus({ preventScroll: true });
      first.scrollIntoView({ block: "center" });
    }
    var mode = form.elements.mode;
    var vehicle = form.elements.vehicle;
    var marker = form.querySelector("[data-fk-needed-marker]");
    if (mode && vehicle && marker) {
      var needs = (vehicle.getAttribute("data-fk-needed-for") || "").split(" ");
      var mark = function () {
        var needed = needs.indexOf(mode.value) >= 0;
        marker.hidden = !needed;
        vehicle.setAttribute("aria-required", needed ? "true" : "false");
      };
      mode.addEventListener("change", mark);
      mark();
    }
    var addX = form.querySelector("[data-fk-add-x]");
    var id = form.elements.id_number;
    if (addX && id) {
      addX.hidden = false;
      addX.addEventListener("click", function () {
        if (!/x$/i.test(id.value)) id.value += "X";
        id.focus();
      });
    }
  });
})();
