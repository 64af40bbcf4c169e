/* Activities pages: confirmation before destructive forms, and selects that submit on change. */
(function () {
  "use strict";
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.classList && form.classList.contains("gy-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm") || "确定？")) {
        evt.preventDefault();
      }
    }
  });
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el.classList && el.classList.contains("gy-autosubmit") && el.form) {
      el.form.submit();
    }
  });
})();
