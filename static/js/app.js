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

// A filter that applies as soon as it is changed (a site chosen, a box ticked) says so with
// data-submit-on-change: its form is sent at once. Here, not in an onchange attribute, which
// the Content Security Policy refuses to run.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.form && field.hasAttribute("data-submit-on-change")) {
    field.form.submit();
  }
});
