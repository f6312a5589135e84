/* Small behaviours of every page, kept out of the HTML so the Content-Security-Policy can
   forbid inline script: select[data-autosubmit] submits its form on change, [data-print]
   prints the page, form[data-confirm] asks before submitting. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) { event.target.form.submit(); }
  });
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-print]");
    if (trigger) { event.preventDefault(); window.print(); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
})();
