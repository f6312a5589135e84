/* Long report pages: "only rows with problems" hides the others (for finance reviewing and for a
   reporter fixing what a check listed).  Kept out of the HTML for the Content-Security-Policy. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches("input[data-problems-filter]")) { return; }
    var table = document.getElementById(box.dataset.problemsFilter);
    if (table) { table.classList.toggle("problems-only", box.checked); }
  });
})();
