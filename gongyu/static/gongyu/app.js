/* Small behaviours for HTMX fragments (no inline scripts: the CSP allows scripts from 'self' only). */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    // A fragment request that ended on the log-in page (session timed out): go there as a whole page.
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/accounts/login/") !== -1) {
      evt.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var target = evt.detail.target;
    if (target) {
      var msg = document.body.getAttribute("data-load-error") || "加载失败，请刷新页面重试。";
      var li = document.createElement("li");
      li.className = "gy-loading text-danger";
      li.textContent = msg;
      target.replaceChildren(li);
    }
  });
  document.addEventListener("htmx:sendError", function (evt) {
    var target = evt.detail.target;
    if (target) {
      var li = document.createElement("li");
      li.className = "gy-loading text-danger";
      li.textContent = document.body.getAttribute("data-offline-error") || "网络连接失败，请检查网络后重试。";
      target.replaceChildren(li);
    }
  });
})();
