// Each table of a page scrolls sideways inside its own container, never the page: the
// container is focusable (a keyboard user can scroll it) and named by the table's caption.
(function () {
  "use strict";
  function wrap(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var parent = table.parentElement;
      if (!parent || parent.classList.contains("jp-table-scroll") ||
          parent.classList.contains("usa-table-container--scrollable")) {
        return;
      }
      var box = document.createElement("div");
      box.className = "jp-table-scroll";
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      var caption = table.querySelector("caption");
      var heading = caption ? caption.textContent.trim() : "";
      box.setAttribute("aria-label", heading || document.title);
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wrap(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wrap(event.target); });
})();
