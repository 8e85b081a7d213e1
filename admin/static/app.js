// The admin page's only script: confirmations, no double submits, small conveniences.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) {
      e.preventDefault();
    }
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.method.toLowerCase() !== "post") { return; }
    // A second click while the first post is on its way would send twice.
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
    f.classList.add("busy");
  });
  document.querySelectorAll("form.filters select").forEach(function (s) {
    if (s.id === "which") { return; }
    s.addEventListener("change", function () { s.form.requestSubmit ? s.form.requestSubmit() : s.form.submit(); });
  });
  var which = document.getElementById("which");
  if (which) {
    var sync = function () { which.form.action = "/admin/reports/" + which.value; };
    which.addEventListener("change", sync);
    sync();
  }
})();
