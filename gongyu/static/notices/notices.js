/* Notices: read-aloud with the phone's own speech synthesis (care mode), form toggles, confirmations.
   A static file because the CSP allows scripts from 'self' only. */
(function () {
  "use strict";

  function readAloud(button) {
    var target = document.querySelector(button.getAttribute("data-read-aloud"));
    var label = button.querySelector("span");
    var startLabel = label ? label.textContent : "";
    if (!("speechSynthesis" in window) || !target) {
      window.alert(button.getAttribute("data-unsupported"));
      return;
    }
    button.addEventListener("click", function () {
      var synth = window.speechSynthesis;
      if (synth.speaking) {
        synth.cancel();
        return;
      }
      var text = (target.innerText || target.textContent || "").replace(/\s+/g, " ").trim();
      // Long notices are read in sentences: some phones stop a single utterance after ~15 seconds.
      var parts = text.match(/[^。！？；\n]+[。！？；]?/g) || [text];
      var voices = synth.getVoices().filter(function (v) { return /^zh/i.test(v.lang); });
      parts.forEach(function (part, i) {
        var u = new SpeechSynthesisUtterance(part);
        u.lang = "zh-CN";
        u.rate = 0.9;  // a little slower for grandparents
        if (voices.length) { u.voice = voices[0]; }
        if (i === 0 && label) { u.onstart = function () { label.textContent = button.getAttribute("data-stop-label"); }; }
        if (i === parts.length - 1 && label) { u.onend = function () { label.textContent = startLabel; }; }
        synth.speak(u);
      });
    });
  }

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
    document.querySelectorAll("[data-read-aloud]").forEach(readAloud);
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
