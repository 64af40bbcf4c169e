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

/* 朗读 (care mode): read a notice or guide aloud with the device's own speech synthesis. A phone without
   speech synthesis, or without a Chinese voice (headless browsers, some Android WebViews), says so in
   words next to the button instead of doing nothing. */
(function () {
  "use strict";

  function zhVoices(synth) {
    return synth.getVoices().filter(function (v) { return /^zh/i.test(v.lang || ""); });
  }

  // Voices load asynchronously on some browsers: wait briefly for them before concluding there are none.
  function withVoices(synth, done) {
    var voices = zhVoices(synth);
    if (voices.length) { done(voices); return; }
    var finished = false;
    function finish() {
      if (finished) { return; }
      finished = true;
      synth.removeEventListener("voiceschanged", finish);
      done(zhVoices(synth));
    }
    synth.addEventListener("voiceschanged", finish);
    window.setTimeout(finish, 700);
  }

  function say(button, message) {
    var note = button.nextElementSibling;
    if (!note || !note.classList.contains("gy-read-aloud-msg")) {
      note = document.createElement("p");
      note.className = "alert alert-warning gy-read-aloud-msg";
      note.setAttribute("role", "status");
      note.setAttribute("data-testid", "read-aloud-msg");
      button.insertAdjacentElement("afterend", note);
    }
    note.textContent = message;
  }

  function speak(button, target, synth, voices) {
    var label = button.querySelector("span");
    var startLabel = label ? label.textContent : "";
    var text = (target.innerText || target.textContent || "").replace(/\s+/g, " ").trim();
    // Long texts are read in sentences: some phones stop a single utterance after ~15 seconds.
    var parts = text.match(/[^。！？；\n]+[。！？；]?/g) || [text];
    parts.forEach(function (part, i) {
      var u = new SpeechSynthesisUtterance(part);
      u.lang = "zh-CN";
      u.rate = 0.9;  // a little slower for grandparents
      u.voice = voices[0];
      if (i === 0 && label) { u.onstart = function () { label.textContent = button.getAttribute("data-stop-label"); }; }
      if (i === parts.length - 1 && label) { u.onend = function () { label.textContent = startLabel; }; }
      synth.speak(u);
    });
  }

  function readAloud(button) {
    var body = document.body;
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-read-aloud"));
      var synth = window.speechSynthesis;
      if (!synth || typeof window.SpeechSynthesisUtterance !== "function" || !target) {
        say(button, button.getAttribute("data-unsupported") || body.getAttribute("data-speech-unsupported"));
        return;
      }
      if (synth.speaking) { synth.cancel(); return; }
      withVoices(synth, function (voices) {
        if (!voices.length) {
          say(button, body.getAttribute("data-speech-no-voice"));
          return;
        }
        speak(button, target, synth, voices);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-read-aloud]").forEach(readAloud);
  });
})();
