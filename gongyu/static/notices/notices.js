/* Notices: form toggles, confirmations (read-aloud lives in gongyu/app.js: guides use it too).
   A static file because the CSP allows scripts from 'self' only. */
(function () {
  "use strict";

  function toggles(form) {
    var rules = form.querySelectorAll("[data-show-when], [data-hide-when]");
    function apply() {
      rules.forEach(function (el) {
        var show = el.hasAttribute("data-show-when");
        var spec = (el.getAttribute(show ? "data-show-when" : "data-hide-when")).split("=");
        var checked = form.querySelector('input[name="' + spec[0] + '"]:checked');
        var match = checked && checked.value === spec[1];
        el.classList.toggle("gy-hidden", show ? !match : match);
      });
    }
    form.addEventListener("change", apply);
    apply();
  }

  // The composer's 发布 question (notices/_confirm.html, loaded by HTMX): 返回修改 closes it; when it
  // arrives, it is scrolled to and focused so that a phone user sees it.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-dismiss-confirm]");
    if (!button) { return; }
    var box = document.getElementById("publish-confirm");
    if (box) { box.innerHTML = ""; }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!evt.detail || !evt.detail.target || evt.detail.target.id !== "publish-confirm") { return; }
    var focus = evt.detail.target.querySelector("[data-testid=confirm-send], [data-testid=form-errors]");
    if (focus) { focus.scrollIntoView({ block: "center" }); focus.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-show-when], [data-hide-when]")) { toggles(form); }
      if (form.hasAttribute("data-confirm")) {
        form.addEventListener("submit", function (evt) {
          if (!window.confirm(form.getAttribute("data-confirm"))) { evt.preventDefault(); }
        });
      }
    });
  });
})();
