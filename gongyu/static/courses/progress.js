/* Recorded lessons: report the real playback position to the server every few seconds while the video
   plays (and on pause/end). The server counts only advances that playback could have made, so skipping
   ahead or leaving the page open does not add watch time. */
(function () {
  "use strict";
  var video = document.querySelector("video.gy-video[data-progress-url]");
  if (!video) { return; }
  var url = video.getAttribute("data-progress-url");
  var csrf = video.getAttribute("data-csrf");
  var bar = document.getElementById("gy-watch-bar");
  var label = document.getElementById("gy-watch-label");
  var INTERVAL = 10000;
  var timer = null;
  var inFlight = false;

  function setBar(percent) {
    if (!bar) { return; }
    var p = Math.max(0, Math.min(100, Math.round(percent)));
    bar.className = bar.className.replace(/\bgy-w-\d+\b/, "") + " gy-w-" + p;
  }
  setBar(parseInt(bar && bar.getAttribute("data-percent"), 10) || 0);

  function send() {
    if (inFlight) { return; }
    inFlight = true;
    var body = new URLSearchParams();
    body.set("position", String(video.currentTime || 0));
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: body })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        setBar(data.percent);
        if (label) { label.textContent = data.completed ? "已看完，学时已计入" : "已观看 " + data.percent + "%"; }
      })
      .catch(function () { /* offline: the next beacon carries the position */ })
      .then(function () { inFlight = false; });
  }

  video.addEventListener("loadedmetadata", function () {
    var start = parseFloat(video.getAttribute("data-start")) || 0;
    if (start > 0 && start < video.duration - 5) { video.currentTime = start; }
  });
  video.addEventListener("play", function () {
    send();
    if (!timer) { timer = window.setInterval(send, INTERVAL); }
  });
  ["pause", "ended", "seeked"].forEach(function (name) {
    video.addEventListener(name, function () {
      if (name !== "seeked" && timer) { window.clearInterval(timer); timer = null; }
      send();
    });
  });
  document.addEventListener("visibilitychange", function () { if (document.hidden && !video.paused) { send(); } });
})();
