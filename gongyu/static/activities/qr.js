/* The organiser's QR page: fetch a fresh code at each 30-second slot boundary (the server says how
   long until the next one), and keep the check-in count live. Retries quietly when offline. */
(function () {
  "use strict";
  var box = document.getElementById("gy-qr-live");
  if (!box) { return; }
  var url = box.getAttribute("data-live-url");

  function schedule(ms) {
    var wait = parseInt(ms, 10);
    if (!(wait > 0) || wait > 30500) { wait = 30000; }
    window.setTimeout(refresh, wait);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (resp) {
        if (resp.redirected && resp.url.indexOf("/accounts/login/") !== -1) {
          window.location.assign(resp.url);
          return null;
        }
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector(".gy-qr-box");
        if (fresh) {
          box.replaceChildren(document.importNode(fresh, true));
          schedule(fresh.getAttribute("data-refresh-ms"));
        } else {
          schedule(5000);
        }
      })
      .catch(function () { schedule(5000); });
  }

  var first = box.querySelector(".gy-qr-box");
  schedule(first ? first.getAttribute("data-refresh-ms") : 30000);
})();
