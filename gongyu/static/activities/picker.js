/* Searchable checkbox lists (面向范围, 协办单位): typing filters the units by name; ticked units stay in
   view so that a choice never disappears; a counter says how many are ticked. No inline code (CSP). */
(function () {
  "use strict";
  function setup(box) {
    var search = box.querySelector(".gy-picker-search");
    var items = Array.prototype.slice.call(box.querySelectorAll(".gy-picker-item"));
    var none = box.querySelector(".gy-picker-none");
    var count = box.querySelector(".gy-picker-count");
    function refresh() {
      var q = search ? search.value.trim().toLowerCase() : "";
      var shown = 0;
      var ticked = 0;
      items.forEach(function (item) {
        var input = item.querySelector("input");
        var hit = !q || item.textContent.toLowerCase().indexOf(q) !== -1 || (input && input.checked);
        item.hidden = !hit;
        if (hit) { shown += 1; }
        if (input && input.checked) { ticked += 1; }
      });
      if (none) { none.hidden = shown > 0 || !items.length; }
      if (count) { count.textContent = ticked ? count.getAttribute("data-label") + " " + ticked : ""; }
    }
    if (search) {
      search.addEventListener("input", refresh);
      // Enter in the search box would submit the whole form.
      search.addEventListener("keydown", function (evt) { if (evt.key === "Enter") { evt.preventDefault(); } });
    }
    box.addEventListener("change", refresh);
    refresh();
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-gy-picker]"), setup);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
