/* Print buttons (no inline onclick under our CSP). */
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest(".gy-print") : null;
    if (btn) { window.print(); }
  });
})();
