// A box that scrolls sideways (a wide table on a phone) can be reached and scrolled with
// the keyboard: it takes focus, and says what it holds.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".card, .table-box").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) {
        box.setAttribute("role", "region");
        var heading = box.querySelector("h2, h3, caption");
        box.setAttribute("aria-label", heading ? heading.textContent.trim() : "Table");
      }
    }
  });
});
